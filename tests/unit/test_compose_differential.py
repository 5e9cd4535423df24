"""skid's reading of compose files against compose's own (`docker-compose config --format json`, the
bundled v2 binary), on small cases written for each feature and each disagreement fixed
(tests/unit/data/compose_cases/NAME/compose.yml). Compared: whether the files are valid, the services,
their memory and CPU limits and reservations, and what plain `up` starts (skid's `default` profile).
A failure prints the case and both readings."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from skid_tui.stack import ConfigError, load_stack

CASES = Path(__file__).parent / "data" / "compose_cases"
EXTRA_ENV = {"compose-profiles-env": {"COMPOSE_PROFILES": "tools"}}
ONE_LINE = re.compile(r"^[^\n]+:\d+:\d+: [^\n]+$")


def compose_binary() -> str:
    beside = Path(sys.executable).parent / "docker-compose"
    found = str(beside) if beside.is_file() else shutil.which("docker-compose")
    if not found:
        pytest.fail("no docker-compose (make install puts the bundled v2 binary in .venv/bin)", pytrace=False)
    return found


def oracle(case: Path, env: dict[str, str], all_profiles: bool) -> tuple[bool, dict, str]:
    cmd = [compose_binary(), "-f", "compose.yml", *(["--profile", "*"] if all_profiles else []),
           "config", "--format", "json"]
    done = subprocess.run(cmd, cwd=case, env=env, capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        return False, {}, done.stderr.strip()
    return True, json.loads(done.stdout).get("services", {}), ""


def _num(value: object, kind: type) -> float | int | None:
    if value in (None, "", 0, "0"):
        return None
    number = kind(float(value)) if kind is int else float(value)  # type: ignore[arg-type]
    return number or None


def oracle_budget(svc: dict) -> tuple:
    res = (svc.get("deploy") or {}).get("resources") or {}
    lim, rsv = res.get("limits") or {}, res.get("reservations") or {}
    return (
        _num(rsv.get("memory"), int) or _num(svc.get("mem_reservation"), int),
        _num(lim.get("memory"), int) or _num(svc.get("mem_limit"), int),
        _num(rsv.get("cpus"), float),
        _num(lim.get("cpus"), float) or _num(svc.get("cpus"), float),
    )


def skid_budget(spec) -> tuple:
    b = spec.budget
    return (b.mem_standard, b.mem_max, b.cpus_reservation or None, b.cpus_limit or None)


@pytest.mark.parametrize("name", sorted(p.name for p in CASES.iterdir() if p.is_dir()))
def test_skid_reads_the_case_as_compose_does(name, monkeypatch):
    case = CASES / name
    monkeypatch.chdir(case)  # both read from the case's directory, as a user runs them there
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/root"),
           "COMPOSE_PROJECT_NAME": "diff", **EXTRA_ENV.get(name, {})}
    valid, services, why = oracle(case, env, all_profiles=True)
    issues: list[str] = []
    try:
        stack = load_stack([case / "compose.yml"], None, environ=env)
    except ConfigError as exc:
        stack, issues = None, [str(i) for i in exc.issues]
    skid_valid, skid_why = stack is not None, "\n".join(issues)
    shown = f"case {name}\ncompose: {'valid' if valid else why}\nskid:    {'valid' if skid_valid else skid_why}"
    assert skid_valid == valid, shown
    if not valid:
        assert all(ONE_LINE.match(i) for i in issues), shown  # FILE:LINE:COL: what, one line each
        return
    assert stack is not None
    assert sorted(stack.services) == sorted(services), shown  # compose prints them sorted
    for service, svc in services.items():
        theirs, ours = oracle_budget(svc), skid_budget(stack.services[service])
        assert ours == theirs, f"{shown}\n{service}: compose {theirs}, skid {ours}"
        replicas = (svc.get("deploy") or {}).get("replicas") or svc.get("scale") or 1
        assert stack.services[service].replicas == replicas, f"{shown}\n{service}: compose x{replicas}"
    _, started, _ = oracle(case, env, all_profiles=False)
    assert sorted(stack.profiles["default"].services) == sorted(started), shown


def test_skid_check_says_which_files_it_read_and_why(capsys):
    from skid_tui.cli.main import main

    assert main(["--compose", str(CASES / "extends-file" / "compose.yml"), "check", "--json"]) == 0
    read = json.loads(capsys.readouterr().out)["files_read"]
    assert [(Path(f["path"]).name, f["as"]) for f in read] == [("compose.yml", "compose file"),
                                                                ("common.yml", "extends")]
    assert main(["--compose", str(CASES / "include" / "compose.yml"), "check"]) == 0
    assert "kafka.yml (include)" in capsys.readouterr().out


def test_a_typo_in_a_budget_key_is_an_error_at_its_line():
    env = {"PATH": os.environ.get("PATH", "")}
    for case, line in (("budget-key-typo", "5:5: services.api: unknown key 'mem_limt' (did you mean 'mem_limit'?)"),
                       ("limits-typo", "6:9: services.api.deploy.resources: unknown key 'limit' "
                                       "(did you mean 'limits'?)")):
        with pytest.raises(ConfigError) as info:
            load_stack([CASES / case / "compose.yml"], None, environ=env)
        assert [str(i) for i in info.value.issues] == [f"{CASES / case / 'compose.yml'}:{line}"]
