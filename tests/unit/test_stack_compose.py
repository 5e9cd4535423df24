"""Compose files into ServiceSpecs: budgets, ports, builds, merge of several files, project names."""

import os
import textwrap
from pathlib import Path

import pytest

from skid_tui.stack import Budget, BuildSpec, ConfigError, Location, PortSpec, load_compose
from skid_tui.stack.compose import normalize_project_name, resolve_project_name

MiB, GiB = 1024**2, 1024**3
SIZE_HINT = "(expected a number with an optional unit: b, k, kb, m, mb, g, gb)"


def write(name: str, text: str) -> str:
    path = Path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return name


def errors(*files: str, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_compose(list(files), environ=environ or {})
    return [str(i) for i in info.value.issues]


def load(*files: str, **kwargs):
    kwargs.setdefault("environ", {})
    return load_compose(list(files), **kwargs)


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


# --- budgets ---------------------------------------------------------------------------------------


def test_budget_from_deploy_resources():
    write(
        "c.yml",
        """
        services:
          postgres:
            image: postgres:15-alpine
            deploy:
              resources:
                reservations: {memory: 256M, cpus: "0.25"}
                limits: {memory: 512M, cpus: 0.5}
        """,
    )
    assert load("c.yml").services["postgres"].budget == Budget(256 * MiB, 512 * MiB, 0.25, 0.5)


def test_budget_from_legacy_keys():
    write(
        "c.yml",
        """
        services:
          redis:
            image: redis
            mem_reservation: 128m
            mem_limit: 268435456
            cpus: "0.3"
        """,
    )
    assert load("c.yml").services["redis"].budget == Budget(128 * MiB, 256 * MiB, None, 0.3)


def test_no_budget_is_none_not_zero():
    write("c.yml", "services:\n  web:\n    image: nginx\n    deploy: {resources: {limits: {cpus: '1'}}}\n")
    budget = load("c.yml").services["web"].budget
    assert budget == Budget(None, None, None, 1.0)
    assert budget.mem_standard is None and budget.mem_max is None
    assert not budget.has_memory


def test_deploy_wins_over_legacy_with_a_warning_when_they_differ():
    write(
        "c.yml",
        """
        services:
          api:
            image: api
            mem_limit: 1g
            mem_reservation: 256m
            deploy:
              resources:
                reservations: {memory: 256m}
                limits: {memory: 512m}
        """,
    )
    project = load("c.yml")
    assert project.services["api"].budget == Budget(256 * MiB, 512 * MiB)
    assert [str(w) for w in project.warnings] == [
        "c.yml:4:16: warning: api: mem_limit 1.00 GiB differs from deploy.resources.limits.memory 512 MiB, "
        "using the deploy value (expected only one of them, or equal values)"
    ]


def test_budget_errors_are_located_at_the_value():
    write(
        "compose/demo.yml",
        """
        services:
          postgres:
            image: postgres
            deploy:
              resources:
                reservations: {memory: 1g}
                limits: {memory: 512M, cpus: "lots"}
          redis:
            image: redis
            mem_limit: 12xb
            mem_reservation: -5
            cpus: [1]
          minio:
            image: minio
            deploy:
              resources:
                reservations: {cpus: 2}
                limits: {cpus: 1}
          api:
            image: api
            deploy: big
        """,
    )
    assert errors("compose/demo.yml") == [
        "compose/demo.yml:6:32: postgres: standard memory 1.00 GiB is greater than maximum 512 MiB "
        "(expected reservation <= limit)",
        "compose/demo.yml:7:38: malformed cpus 'lots' (expected a number of CPUs such as 0.5)",
        f"compose/demo.yml:10:16: malformed size '12xb' {SIZE_HINT}",
        f"compose/demo.yml:11:22: malformed size '-5' {SIZE_HINT}",
        "compose/demo.yml:12:11: 'cpus' is a list (expected a number of CPUs such as 0.5)",
        "compose/demo.yml:17:30: minio: CPU reservation 2 is greater than limit 1 (expected reservation <= "
        "limit)",
        "compose/demo.yml:21:13: 'deploy' is a string (expected a mapping)",
    ]


def test_standard_greater_than_maximum_across_spellings():
    write("c.yml", "services:\n  postgres:\n    image: p\n    mem_reservation: 1g\n    mem_limit: 512m\n")
    assert errors("c.yml") == [
        "c.yml:4:22: postgres: standard memory 1.00 GiB is greater than maximum 512 MiB "
        "(expected reservation <= limit)"
    ]


# --- services --------------------------------------------------------------------------------------


def test_service_fields():
    write(
        "compose/c.yml",
        """
        services:
          api:
            build: ../src/api
            profiles: [app, full]
            depends_on: [postgres, redis]
            healthcheck:
              test: ["CMD", "wget", "-q", "--spider", "http://127.0.0.1:8080/health"]
          worker:
            image: worker
            build:
              context: ./worker
              dockerfile: Dockerfile.dev
              args: [VERSION=1.2, DEBUG, FROM_ENV]
              target: dev
            depends_on:
              postgres: {condition: service_healthy}
            healthcheck: {test: "curl -f localhost"}
          postgres:
            image: postgres
            healthcheck: {test: ["NONE"]}
          redis:
            image: redis
            healthcheck: {test: ["CMD", "redis-cli", "ping"], disable: true}
          minio:
            image: minio
            healthcheck: {interval: 10s}
        """,
    )
    project = load("compose/c.yml", environ={"FROM_ENV": "yes"})
    assert list(project.services) == ["api", "worker", "postgres", "redis", "minio"]
    api, worker = project.services["api"], project.services["worker"]
    here = Path(os.getcwd())
    assert api.location == Location("compose/c.yml", 2, 3)
    assert api.image is None
    assert api.build == BuildSpec(context=here / "src" / "api")
    assert api.compose_profiles == ("app", "full")
    assert api.depends_on == ("postgres", "redis")
    assert api.has_healthcheck
    assert worker.build == BuildSpec(
        context=here / "compose" / "worker",
        dockerfile="Dockerfile.dev",
        args={"VERSION": "1.2", "FROM_ENV": "yes"},  # DEBUG is unset: left out, as compose does
        target="dev",
    )
    assert worker.depends_on == ("postgres",)
    assert worker.has_healthcheck
    assert [project.services[s].has_healthcheck for s in ("postgres", "redis", "minio")] == [False] * 3


def test_ports_short_and_long_syntax():
    write(
        "c.yml",
        """
        services:
          web:
            image: web
            ports:
              - "8080"
              - "8081:80"
              - "127.0.0.1:8082:80"
              - "127.0.0.1::80"
              - "53:53/udp"
              - 9000
              - 22:22
              - "3000-3001:4000-4001"
              - "[::1]:8443:443"
              - target: 80
                published: "8083"
                host_ip: 127.0.0.1
                protocol: tcp
              - {target: 81}
        """,
    )
    assert load("c.yml").services["web"].ports == (
        PortSpec(8080),
        PortSpec(80, 8081),
        PortSpec(80, 8082, "127.0.0.1"),
        PortSpec(80, None, "127.0.0.1"),
        PortSpec(53, 53, None, "udp"),
        PortSpec(9000),
        PortSpec(22, 22),
        PortSpec(4000, 3000),
        PortSpec(4001, 3001),
        PortSpec(443, 8443, "::1"),
        PortSpec(80, 8083, "127.0.0.1"),
        PortSpec(81),
    )


def test_port_errors():
    write(
        "c.yml",
        """
        services:
          web:
            image: web
            ports:
              - "80:80:80:x"
              - "8080:80/icmp"
              - "70000:80"
              - {target: 80, publish: 8080}
              - {published: 8080}
              - {target: 80, published: abc}
              - [80]
          db:
            image: db
            ports: "5432:5432"
        """,
    )
    short = "(expected [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL])"
    assert errors("c.yml") == [
        f"c.yml:5:9: malformed port '80:80:80:x' {short}",
        f"c.yml:6:9: malformed port '8080:80/icmp' {short}",
        "c.yml:7:9: malformed port '70000:80': 70000 is out of range (expected a port from 1 to 65535)",
        "c.yml:8:22: unknown key 'publish' "
        "(expected one of: target, published, host_ip, protocol, mode, name, app_protocol)",
        "c.yml:9:9: missing key 'target' (expected the container port, such as target: 80)",
        "c.yml:10:33: malformed port 'abc' (expected a host port or range)",
        f"c.yml:11:9: port is a list {short}",
        "c.yml:14:12: 'ports' is a string (expected a list of ports)",
    ]


def test_service_errors():
    write(
        "compose/demo.yml",
        """
        services:
          api: postgres
          empty:
          "bad name!":
            image: x
          nothing:
            restart: always
          web:
            image: [nginx]
            depends_on: [api, db]
            profiles: web
            healthcheck: yes
        """,
    )
    assert errors("compose/demo.yml") == [
        "compose/demo.yml:2:8: api: service is a string (expected a mapping)",
        "compose/demo.yml:3:3: empty: service is empty (expected a mapping)",
        "compose/demo.yml:4:3: invalid service name 'bad name!' (expected letters, digits, '.', '_' or '-')",
        "compose/demo.yml:6:3: nothing: service has neither an image nor a build (expected image: or build:)",
        "compose/demo.yml:9:12: 'image' is a list (expected an image name such as postgres:15-alpine)",
        "compose/demo.yml:10:23: web: depends on unknown service 'db' "
        "(expected one of: api, bad name!, empty, nothing, web)",
        "compose/demo.yml:11:15: 'profiles' is a string (expected a list of profile names)",
        "compose/demo.yml:12:18: 'healthcheck' is a string (expected a mapping with test:)",
    ]


def test_top_level_errors():
    write("none.yml", "name: x\n")
    write("list.yml", "services: [a, b]\n")
    write("empty.yml", "services:\n")
    write("scalar.yml", "just text\n")
    hint = "(expected a mapping of service names to services)"
    assert load("none.yml").services == {}  # compose accepts a file with no services: key (a project of none)
    assert errors("list.yml") == [f"list.yml:1:11: 'services' is a list {hint}"]
    assert errors("empty.yml") == [f"empty.yml:1:1: 'services' is empty {hint}"]
    assert errors("scalar.yml") == [
        "scalar.yml:1:1: compose file is a string (expected a mapping with a 'services' key)"
    ]
    assert errors("missing.yml") == [
        "missing.yml:1:1: cannot read compose file: No such file or directory (expected a readable YAML file)"
    ]


def test_all_errors_of_all_files_are_collected():
    write("a.yml", "services:\n  a:\n    image: a\n    mem_limit: 1x\n")
    write("b.yml", "services:\n  a: {cpus: x}\n  b: [\n")
    assert errors("a.yml", "b.yml") == [
        f"a.yml:4:16: malformed size '1x' {SIZE_HINT}",
        "b.yml:3:7: invalid YAML: expected the node content, but found '<stream end>' (expected valid YAML)",
    ]


def test_extensions_are_kept():
    write("c.yml", "x-budget: &b {memory: 1g}\nx-list: [1, 2]\nservices:\n  a: {image: a}\n")
    assert load("c.yml").extensions == {"x-budget": {"memory": "1g"}, "x-list": [1, 2]}


# --- merging files ---------------------------------------------------------------------------------


BASE = """
services:
  postgres:
    image: postgres:15
    command: ["postgres", "-c", "a=1"]
    environment:
      - A=1
      - B=2
    ports: ["5432:5432"]
    volumes:
      - data:/var/lib/postgresql/data
      - ./init:/docker-entrypoint-initdb.d
    deploy:
      resources:
        reservations: {memory: 256M}
        limits: {memory: 512M}
    healthcheck:
      test: ["CMD", "pg_isready"]
      interval: 10s
    dns: 8.8.8.8
    labels: {team: data}
    profiles: [db]
    depends_on: [redis]
  redis:
    image: redis
volumes:
  data: {}  # compose refuses a volume no file declares
"""

OVERRIDE = """
services:
  postgres:
    command: postgres
    environment:
      B: "3"
      C: "4"
    ports: ["5432:5432", "127.0.0.1:6432:5432"]
    volumes:
      - other:/var/lib/postgresql/data
    deploy:
      resources:
        limits:
          memory: 1g
    healthcheck:
      test: ["CMD-SHELL", "true"]
    dns: [1.1.1.1]
    labels: ["tier=db"]
    profiles: [db, full]
    depends_on:
      minio: {condition: service_started}
  minio:
    image: minio
volumes:
  other: {}  # compose refuses a volume no file declares
"""


def test_later_files_override_earlier_ones():
    write("compose/base.yml", BASE)
    write("compose/override.yml", OVERRIDE)
    project = load("compose/base.yml", "compose/override.yml")
    assert list(project.services) == ["postgres", "redis", "minio"]
    pg = project.services["postgres"]
    assert pg.budget == Budget(256 * MiB, GiB)  # limit overridden, reservation kept
    assert pg.ports == (PortSpec(5432, 5432), PortSpec(5432, 6432, "127.0.0.1"))  # union, in order
    assert pg.compose_profiles == ("db", "full")
    assert pg.depends_on == ("redis", "minio")
    assert pg.location == Location("compose/base.yml", 2, 3)
    data = project.doc.data["services"]["postgres"]
    assert data["command"] == "postgres"  # replaced
    assert data["environment"] == {"A": "1", "B": "3", "C": "4"}  # merged by key
    assert data["labels"] == {"team": "data", "tier": "db"}
    assert data["volumes"] == ["other:/var/lib/postgresql/data", "./init:/docker-entrypoint-initdb.d"]
    assert data["healthcheck"] == {"test": ["CMD-SHELL", "true"], "interval": "10s"}
    assert data["dns"] == ["8.8.8.8", "1.1.1.1"]
    # every value points at the file that set it
    loc = project.doc.locations
    res = ("services", "postgres", "deploy", "resources")
    assert loc[(*res, "limits", "memory")] == Location("compose/override.yml", 13, 19)
    assert loc[(*res, "reservations", "memory")] == Location("compose/base.yml", 14, 32)
    assert loc[("services", "postgres", "environment", "A")] == Location("compose/base.yml", 6, 9)
    assert loc[("services", "postgres", "environment", "B")] == Location("compose/override.yml", 5, 10)
    assert loc[("services", "postgres", "ports", 1)] == Location("compose/override.yml", 7, 26)


def test_errors_in_an_override_point_at_the_override():
    write("compose/base.yml", BASE)
    write("compose/bad.yml", "services:\n  postgres:\n    deploy: {resources: {limits: {memory: 128m}}}\n")
    assert errors("compose/base.yml", "compose/bad.yml") == [
        "compose/base.yml:14:32: postgres: standard memory 256 MiB is greater than maximum 128 MiB "
        "(expected reservation <= limit)"
    ]
    write("compose/bad2.yml", "services:\n  redis:\n    mem_limit: lots\n")
    assert errors("compose/base.yml", "compose/bad2.yml") == [
        f"compose/bad2.yml:3:16: malformed size 'lots' {SIZE_HINT}"
    ]


def test_reset_and_override_tags():
    write("compose/base.yml", BASE)
    write(
        "compose/o.yml",
        """
        services:
          postgres:
            ports: !override ["15432:5432"]
            environment: !reset {}
            deploy:
              resources:
                reservations: !reset
          redis:
            image:
        """,
    )
    project = load("compose/base.yml", "compose/o.yml")
    pg = project.services["postgres"]
    assert pg.ports == (PortSpec(5432, 15432),)
    assert "environment" not in project.doc.data["services"]["postgres"]
    assert pg.budget == Budget(None, 512 * MiB)
    assert project.services["redis"].image == "redis"  # an empty value does not erase


def test_merge_keys_inside_compose():
    write(
        "c.yml",
        """
        x-small: &small
          deploy:
            resources:
              reservations: {memory: 128M}
              limits: {memory: 256M}
        services:
          a:
            <<: *small
            image: a
          b:
            <<: *small
            image: b
            mem_limit: 300m
        """,
    )
    project = load("c.yml")
    assert project.services["a"].budget == Budget(128 * MiB, 256 * MiB)
    assert project.services["b"].budget == Budget(128 * MiB, 256 * MiB)
    assert [str(w) for w in project.warnings] == [
        "c.yml:13:16: warning: b: mem_limit 300 MiB differs from deploy.resources.limits.memory 256 MiB, "
        "using the deploy value (expected only one of them, or equal values)"
    ]


# --- project name ----------------------------------------------------------------------------------


def test_project_name_precedence():
    write("My Stack/c.yml", "name: From-File\nservices:\n  a: {image: a}\n")
    f = "My Stack/c.yml"
    assert load(f, project_name="Explicit", environ={"COMPOSE_PROJECT_NAME": "env"}).project == "explicit"
    assert load(f, environ={"COMPOSE_PROJECT_NAME": "From_Env"}).project == "from_env"
    assert load(f).project == "from-file"
    write("My Stack/d.yml", "services:\n  a: {image: a}\n")
    assert load("My Stack/d.yml").project == "mystack"  # the first file's folder
    write("My Stack/.env", "COMPOSE_PROJECT_NAME=dotenv\n")
    assert load("My Stack/d.yml").project == "dotenv"


def test_project_name_from_a_later_file_and_interpolated():
    write("a/c.yml", "services:\n  a: {image: a}\n")
    write("a/d.yml", "name: ${STACK:-demo}\n")
    assert load("a/c.yml", "a/d.yml").project == "demo"


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("Skid Demo!", "skiddemo"),
        ("__-Web_App", "web_app"),
        ("a.b.c", "abc"),
        ("ÄPP1", "pp1"),
        ("x-1_y", "x-1_y"),
    ],
)
def test_normalize_project_name(raw, name):
    assert normalize_project_name(raw) == name


def test_resolve_project_name_from_directory(tmp_path):
    (tmp_path / "--Weird Dir").mkdir()
    assert resolve_project_name(tmp_path / "--Weird Dir" / "c.yml", environ={}) == "weirddir"


def test_invalid_project_name():
    write("c.yml", "name: ___\nservices:\n  a: {image: a}\n")
    assert errors("c.yml") == [
        "c.yml:1:7: invalid project name '___' (expected letters, digits, '_' or '-', starting with a "
        "letter or digit)"
    ]
    assert errors("c.yml", environ={"COMPOSE_PROJECT_NAME": "!!"}) == [
        "c.yml:1:1: invalid project name '!!' from COMPOSE_PROJECT_NAME "
        "(expected letters, digits, '_' or '-', starting with a letter or digit)"
    ]
