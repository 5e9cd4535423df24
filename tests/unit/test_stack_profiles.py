"""Laptop profiles and load_stack: errors of compose and profiles together, budget warnings."""

import textwrap
from pathlib import Path

import pytest

from skid_tui.stack import ConfigError, Location, OnDemand, Profile, load_stack

MiB, GiB = 1024**2, 1024**3
KEYS = "(expected one of: name, description, services, host_budget, on_demand)"
SERVICES = "api, go, llm-advisor, minio, postgres, redis"

COMPOSE = """
services:
  postgres:
    image: postgres
    deploy: {resources: {reservations: {memory: 256M}, limits: {memory: 512M}}}
  redis:
    image: redis
    deploy: {resources: {reservations: {memory: 128M}, limits: {memory: 256M}}}
  minio:
    image: minio
    deploy: {resources: {reservations: {memory: 256M}, limits: {memory: 512M}}}
  api:
    image: api
    mem_limit: 512m
  llm-advisor:
    image: llm
    profiles: [llm]
    deploy: {resources: {reservations: {memory: 1G}, limits: {memory: 2G}}}
  go:
    image: go
    profiles: [dev, go]
    deploy: {resources: {reservations: {memory: 5G}, limits: {memory: 6G}}}
"""


def write(name: str, text: str) -> str:
    path = Path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return name


def errors(files=("compose/demo.yml",), profiles="profiles", environ=None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_stack(list(files), profiles, environ=environ or {})
    return [str(i) for i in info.value.issues]


def stack(profiles="profiles"):
    return load_stack(["compose/demo.yml"], profiles, environ={})


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write("compose/demo.yml", COMPOSE)


def test_profiles_sorted_by_file_name_with_defaults():
    write(
        "profiles/llm.yaml",
        """
        name: llm
        description: Data services and the LLM advisor
        services: [postgres, redis, minio, llm-advisor]
        host_budget: 6g
        on_demand:
          llm-advisor: {idle_timeout: 10m}
        """,
    )
    write("profiles/app.yml", "services: [postgres, api]\non_demand:\n  llm-advisor:\n  go: {}\n")
    write("profiles/notes.txt", "not a profile\n")
    write("profiles/.hidden.yaml", "services: [nope]\n")
    s = stack()
    assert list(s.profiles) == ["app", "llm"]
    assert s.profiles["app"] == Profile(
        name="app",  # the file's stem
        location=Location("profiles/app.yml", 1, 1),
        services=("postgres", "api"),
        host_budget=6 * GiB,
        on_demand=(OnDemand("llm-advisor", 600.0), OnDemand("go", 600.0)),
    )
    llm = s.profiles["llm"]
    assert llm.location == Location("profiles/llm.yaml", 1, 7)
    assert llm.description == "Data services and the LLM advisor"
    assert llm.on_demand_for("llm-advisor") == OnDemand("llm-advisor", 600.0)
    assert s.profiles_dir == Path("profiles")
    assert s.warnings == ()


def test_profile_totals():
    write("profiles/llm.yaml", "services: [postgres, redis, minio, llm-advisor, api]\nhost_budget: 4g\n")
    s = stack()
    llm = s.profiles["llm"]
    # api has a limit and no reservation: 0 at standard, its limit at maximum
    assert s.profile_totals(llm) == (
        256 * MiB + 128 * MiB + 256 * MiB + GiB,
        512 * MiB + 256 * MiB + 512 * MiB + 2 * GiB + 512 * MiB,
    )
    assert llm.host_budget == 4 * GiB


def test_profile_over_its_host_budget_is_a_warning():
    write("profiles/full.yaml", "name: full\nservices: [postgres, minio, llm-advisor, go]\nhost_budget: 6g\n")
    write("profiles/dev.yaml", "services: [go, llm-advisor, minio]\n")
    write("profiles/named.yaml", "name: tight\nservices: [go, llm-advisor, postgres]\n")
    write("profiles/exact.yaml", "services: [go, llm-advisor]\n")  # 6 GiB in 6 GiB: fits
    write("profiles/small.yaml", "services: [postgres]\nhost_budget: 200m\n")
    s = stack()
    assert list(s.profiles) == ["dev", "exact", "full", "tight", "small"]
    tail = "(expected at most the host budget)"
    assert [str(w) for w in s.warnings] == [
        # host_budget not written and the name is the stem: at the file start
        f"profiles/dev.yaml:1:1: warning: profile 'dev' needs 6.25 GiB at standard allocation, "
        f"more than its host budget of 6.00 GiB {tail}",
        f"profiles/full.yaml:3:14: warning: profile 'full' needs 6.50 GiB at standard allocation, "
        f"more than its host budget of 6.00 GiB {tail}",
        # host_budget not written: at the name
        f"profiles/named.yaml:1:7: warning: profile 'tight' needs 6.25 GiB at standard allocation, "
        f"more than its host budget of 6.00 GiB {tail}",
        f"profiles/small.yaml:2:14: warning: profile 'small' needs 256 MiB at standard allocation, "
        f"more than its host budget of 200 MiB {tail}",
    ]
    assert all(w.severity == "warning" for w in s.warnings)


def test_profile_errors():
    write(
        "profiles/app.yaml",
        """
        services: [postgres, redis2, 42, postgres]
        servces: [api]
        description: [not, text]
        host_budget: 6x
        on_demand:
          llm: {idle_timeout: 10m}
          llm-advisor: {idle_timeout: 10x, idle: 5m}
          go: {idle_timeout: 0s}
          api: soon
        """,
    )
    write("profiles/empty.yaml", "")
    write("profiles/list.yaml", "- postgres\n")
    write("profiles/none.yaml", "name: none\nservices: []\n")
    write("profiles/scalar.yaml", "services: postgres\nhost_budget: 0\non_demand: [go]\n")
    write("profiles/syntax.yaml", "services: [postgres\n")
    write("profiles/typed.yaml", "name: 12\nservices: [postgres]\n")
    Path("profiles/dir.yaml").mkdir()
    assert errors() == [
        f"profiles/app.yaml:1:22: unknown service 'redis2' (expected one of: {SERVICES})",
        "profiles/app.yaml:1:30: 'services' item is a number (expected a service name)",
        "profiles/app.yaml:1:34: service 'postgres' is listed twice (expected each service once)",
        f"profiles/app.yaml:2:1: unknown key 'servces' {KEYS}",
        "profiles/app.yaml:3:14: 'description' is a list (expected a string)",
        "profiles/app.yaml:4:14: malformed size '6x' (expected a number with an optional unit: b, k, kb, m, "
        "mb, g, gb)",
        f"profiles/app.yaml:6:3: unknown service 'llm' (expected one of: {SERVICES})",
        "profiles/app.yaml:7:31: malformed duration '10x' (expected a duration such as 90s, 10m or 1h30m)",
        "profiles/app.yaml:7:36: unknown key 'idle' (expected one of: idle_timeout)",
        "profiles/app.yaml:8:22: idle_timeout is 0 (expected a duration greater than 0, such as 10m)",
        "profiles/app.yaml:9:8: 'api' is a string (expected a mapping such as {idle_timeout: 10m})",
        "profiles/dir.yaml:1:1: cannot read profile: Is a directory (expected a readable YAML file)",
        "profiles/empty.yaml:1:1: missing key 'services' (expected a list of service names)",
        "profiles/list.yaml:1:1: profile is a list "
        "(expected a mapping with keys: name, description, services, host_budget, on_demand)",
        "profiles/none.yaml:2:11: 'services' is an empty list (expected a list of service names)",
        "profiles/scalar.yaml:1:11: 'services' is a string (expected a list of service names)",
        "profiles/scalar.yaml:2:14: host_budget is 0 (expected a size greater than 0, such as 6g)",
        "profiles/scalar.yaml:3:12: 'on_demand' is a list (expected a mapping of service names to "
        "{idle_timeout: 10m})",
        "profiles/syntax.yaml:1:11: invalid YAML: expected ',' or ']', but got '<stream end>' (expected "
        "valid YAML)",
        "profiles/typed.yaml:1:7: 'name' is a number (expected a profile name)",
    ]


def test_duplicate_profile_names():
    write("profiles/app.yaml", "name: app\nservices: [postgres]\n")
    write("profiles/app.yml", "services: [redis]\n")  # named by its stem: located at the file start
    write("profiles/other.yaml", "description: same name\nname: app\nservices: [minio]\n")
    assert errors() == [
        "profiles/app.yml:1:1: profile 'app' is already defined at profiles/app.yaml:1:7 (expected a unique "
        "profile name)",
        "profiles/other.yaml:2:7: profile 'app' is already defined at profiles/app.yaml:1:7 "
        "(expected a unique profile name)",
    ]
    write("p2/a.yaml", "services: [redis]\n")
    write("p2/b.yaml", "name: a\nservices: [redis]\n")
    assert errors(profiles="p2") == [
        "p2/b.yaml:1:7: profile 'a' is already defined at p2/a.yaml:1:1 (expected a unique profile name)"
    ]


def test_profiles_directory_errors():
    assert errors(profiles="nope") == [
        "nope:1:1: cannot read profiles directory: No such file or directory (expected a directory of "
        "*.yaml profiles)"
    ]
    assert errors(profiles="compose/demo.yml") == [
        "compose/demo.yml:1:1: cannot read profiles directory: Not a directory "
        "(expected a directory of *.yaml profiles)"
    ]


def test_empty_profiles_directory_falls_back_to_the_default_profile():
    Path("blank").mkdir()
    write("blank/readme.md", "no profiles here\n")
    s = stack(profiles="blank")
    assert list(s.profiles) == ["default"]
    assert s.profiles_dir == Path("blank")
    assert [str(w) for w in s.warnings] == [
        "blank:1:1: warning: no profiles in profiles directory, using the 'default' profile "
        "(expected at least one *.yaml or *.yml file)"
    ]


def test_profile_paths_are_joined_as_given(tmp_path):
    write("profiles/bad.yaml", "services: [nope]\n")
    (line,) = errors(profiles="./profiles/")
    assert line.startswith("profiles/bad.yaml:1:12: unknown service 'nope'")
    (line,) = errors(profiles=tmp_path / "profiles")
    assert line.startswith(f"{tmp_path}/profiles/bad.yaml:1:12: ")


def test_compose_errors_come_first_then_profile_errors():
    write("compose/demo.yml", COMPOSE + "  broken:\n    image: x\n    mem_limit: 1q\n")
    write("profiles/a.yaml", "services: [broken, nope]\n")
    assert errors() == [
        "compose/demo.yml:24:16: malformed size '1q' (expected a number with an optional unit: b, k, kb, m, "
        "mb, g, gb)",
        # a service with errors is still a known name: no second error about it
        "profiles/a.yaml:1:20: unknown service 'nope' (expected one of: api, broken, go, llm-advisor, "
        "minio, "
        "postgres, redis)",
    ]


def test_unreadable_compose_does_not_flood_profiles_with_unknown_services():
    write("profiles/a.yaml", "services: [postgres]\nhost_budget: 1x\n")
    assert errors(files=["compose/missing.yml"]) == [
        "compose/missing.yml:1:1: cannot read compose file: No such file or directory (expected a readable "
        "YAML file)",
        "profiles/a.yaml:2:14: malformed size '1x' (expected a number with an optional unit: b, k, kb, m, "
        "mb, g, gb)",
    ]


def test_config_error_prints_one_line_per_issue():
    write("profiles/a.yaml", "services: [x]\nservces: 1\n")
    with pytest.raises(ConfigError) as info:
        stack()
    assert str(info.value).splitlines() == [
        f"profiles/a.yaml:1:12: unknown service 'x' (expected one of: {SERVICES})",
        f"profiles/a.yaml:2:1: unknown key 'servces' {KEYS}",
    ]


# --- without a profiles directory ------------------------------------------------------------------


def test_default_profile_is_what_compose_up_starts():
    s = stack(profiles=None)
    assert list(s.profiles) == ["default"]
    default = s.profiles["default"]
    assert default.services == (
        "postgres",
        "redis",
        "minio",
        "api",
    )  # not llm-advisor, go: they have profiles
    assert default.location == Location("compose/demo.yml", 1, 1)
    assert default.host_budget == 6 * GiB
    assert default.on_demand == ()
    assert s.profiles_dir is None
    assert s.project == "compose"
    assert s.compose_files == (Path("compose/demo.yml"),)
    assert list(s.services) == ["postgres", "redis", "minio", "api", "llm-advisor", "go"]


def test_default_profile_over_budget_warns_at_the_compose_file():
    write("c.yml", "services:\n  big:\n    image: x\n    mem_reservation: 7g\n")
    s = load_stack(["c.yml"], environ={})
    assert [str(w) for w in s.warnings] == [
        "c.yml:1:1: warning: profile 'default' needs 7.00 GiB at standard allocation, more than its host "
        "budget "
        "of 6.00 GiB (expected at most the host budget)"
    ]


def test_load_stack_keeps_compose_warnings():
    write("c.yml", "services:\n  a:\n    image: $IMAGE\n")
    s = load_stack(["c.yml"], project_name="p", environ={})
    assert s.project == "p"
    assert [w.message for w in s.warnings] == ["variable IMAGE is not set, using an empty string"]
