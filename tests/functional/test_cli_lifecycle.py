"""`skid up/down/toggle/llm/profiles` against the real private engine: what compose did, as the engine says.

The commands are called in-process (skid_tui.cli.lifecycle, as the argparse handlers call them) on a
throwaway `skidcli-` project of the demo stack with random host ports; each test takes its project down
with `--profile "*" down -v`.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.console import Console

from skid_tui.cli import lifecycle
from skid_tui.engine.containers import read_project, service_containers
from skid_tui.model import PeakStore, state_dir
from skid_tui.model.active import remembered_profile
from skid_tui.model.history import HistoryStore
from skid_tui.ops.config import Options, load
from skid_tui.stack import Stack
from tests.conftest import DEMO, PORT_VARS, DemoProject

MiB = 1024**2
GiB = 1024**3
# The strategy's budgets (standard, maximum), which compose/demo.yml carries.
STRATEGY = {
    "api": (256 * MiB, 512 * MiB), "orchestrator": (256 * MiB, 512 * MiB), "binary-processor": (128 * MiB, 256 * MiB),
    "postgres": (256 * MiB, 512 * MiB), "redis": (128 * MiB, 256 * MiB), "minio": (256 * MiB, 512 * MiB),
    "llm-advisor": (1 * GiB, 2 * GiB), "typescript": (512 * MiB, 1 * GiB), "python": (512 * MiB, 1 * GiB),
    "go": (512 * MiB, 1 * GiB),
}  # fmt: skip


def legacy_files() -> dict[str, tuple[bytes, int]]:
    """The old JSON state files as they are now: peaks and the profile live in the history database, and
    nothing writes these any more."""
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns)
            for p in (state_dir() / "peaks.json", state_dir() / "active-profile.json") if p.is_file()}


@dataclass
class Result:
    code: int
    out: str
    err: str


class Skid:
    """`skid --compose demo.yml [-f extra.yml] --project-name P COMMAND`, run in-process."""

    def __init__(self, project: DemoProject, extra: tuple[Path, ...] = ()) -> None:
        self.project = project
        self.options = Options(compose=(str(DEMO), *map(str, extra)), project_name=project.name)
        self.stack: Stack = load(self.options)

    def _run(self, fn: Callable[..., int], *args: object, **kwargs: object) -> Result:
        buffer, err = io.StringIO(), io.StringIO()
        out = Console(file=buffer, width=160, highlight=False)
        with contextlib.redirect_stderr(err):
            code = fn(self.stack, self.options, *args, out=out, **kwargs)
        return Result(code, buffer.getvalue(), err.getvalue())

    def up(self, *targets: str) -> Result:
        return self._run(lifecycle.cmd_up, list(targets), None)

    def down(self, volumes: bool = False, yes: bool = False, stdin: io.StringIO | None = None) -> Result:
        return self._run(lifecycle.cmd_down, volumes, yes, None, stdin=stdin or io.StringIO())

    def toggle(self, service: str) -> Result:
        return self._run(lifecycle.cmd_toggle, service, None)

    def llm(self, state: str, force: bool = False) -> Result:
        return self._run(lifecycle.cmd_llm, state, None, force)

    def profiles_json(self) -> dict:
        result = self._run(lifecycle.cmd_profiles, as_json=True)
        assert result.code == 0, result.err
        return json.loads(result.out)


@pytest.fixture
def skid(engine, compose_bin, monkeypatch) -> Iterator[Skid]:
    for var in PORT_VARS:
        monkeypatch.setenv(var, "")  # random free host ports: tests never collide with a running demo
    project = DemoProject(compose_bin, f"skidcli-{uuid.uuid4().hex[:8]}")
    yield Skid(project)
    project.down()


def running(engine, project: str) -> set[str]:
    grouped = service_containers(read_project(engine, project), project)
    return {s for s, cs in grouped.items() if any(c.is_running for c in cs)}


def volumes(engine, project: str) -> set[str]:
    return {v["Name"] for v in engine.api.volumes().get("Volumes") or [] if v["Name"].startswith(f"{project}_")}


def exec_out(engine, project: str, service: str, *cmd: str) -> str:
    [c] = service_containers(read_project(engine, project), project)[service]
    exec_id = engine.api.exec_create(c.id, list(cmd))["Id"]
    return engine.api.exec_start(exec_id).decode()


def ok(result: Result) -> Result:
    assert result.code == 0, f"exit {result.code}\n{result.out}\n{result.err}"
    return result


def test_postgres_data_survives_toggle_and_down_and_volumes_go_only_when_confirmed(engine, skid, up_d):
    name = skid.project.name
    first = ok(skid.toggle("postgres"))
    assert running(engine, name) == {"postgres"}
    assert f"-p {name} -f {DEMO} {up_d} postgres" in first.out  # the exact command, shown first
    table = next(line for line in first.out.splitlines() if line.startswith("postgres "))
    assert "running" in table and "256M/512M" in table  # the status table, with memory against the budget
    assert re.search(r" \d+(\.\d+)?M \(\d+%\) ", table), table
    exec_out(engine, name, "postgres", "sh", "-c", "echo keep-me > /var/lib/postgresql/data/skid-test")

    off = ok(skid.toggle("postgres"))
    assert "stop postgres" in off.out
    assert running(engine, name) == set()
    ok(skid.toggle("postgres"))
    assert exec_out(engine, name, "postgres", "cat", "/var/lib/postgresql/data/skid-test").strip() == "keep-me"

    ok(skid.down())
    assert service_containers(read_project(engine, name), name) == {}
    kept = volumes(engine, name)
    assert f"{name}_postgres_data" in kept

    refused = skid.down(volumes=True)  # no --yes, and stdin is no terminal
    assert refused.code == 2
    assert len(refused.err.strip().splitlines()) == 1 and "--yes" in refused.err
    assert f"{name}_postgres_data" in refused.out  # it said what it would have deleted
    assert volumes(engine, name) == kept

    ok(skid.up("postgres"))
    assert exec_out(engine, name, "postgres", "cat", "/var/lib/postgresql/data/skid-test").strip() == "keep-me"

    gone = ok(skid.down(volumes=True, yes=True))
    assert "down -v" not in gone.out and f"removed volume {name}_postgres_data  " in gone.out  # what it listed
    assert volumes(engine, name) == set()
    assert service_containers(read_project(engine, name), name) == {}


def test_up_profile_runs_exactly_that_profile(engine, skid, up_d):
    name = skid.project.name
    stack = skid.stack
    untouched = legacy_files()
    ok(skid.up("minimal"))
    assert running(engine, name) == set(stack.profiles["minimal"].services)
    assert remembered_profile(name) == "minimal" == HistoryStore.default().profile(name)
    skid.project.up("llm-advisor")  # an on-demand service started outside the profile

    applied = ok(skid.up("app"))
    assert running(engine, name) == set(stack.profiles["app"].services)
    assert remembered_profile(name) == "app"
    assert "stop llm-advisor" in applied.out  # one stop command for what app does not include
    commands = [line for line in applied.out.splitlines() if line.startswith("$ ")]
    assert [c.split(f"-f {DEMO} ", 1)[1] for c in commands] == [
        "--profile llm stop llm-advisor",
        f"{up_d} postgres redis minio api orchestrator binary-processor",
    ]

    back = ok(skid.up())  # no target: the remembered profile, nothing to change
    assert running(engine, name) == set(stack.profiles["app"].services)
    assert " stop " not in back.out

    ok(skid.up("minimal"))
    assert running(engine, name) == set(stack.profiles["minimal"].services)
    assert legacy_files() == untouched


def test_compose_failure_exits_non_zero_and_names_it(engine, compose_bin, monkeypatch, tmp_path):
    for var in PORT_VARS:
        monkeypatch.setenv(var, "")
    project = DemoProject(compose_bin, f"skidcli-{uuid.uuid4().hex[:8]}")
    missing = f"skid-test/{project.name}-missing:latest"  # named after the project: it cannot exist
    override = tmp_path / "broken.yml"
    # `build: !reset` too: with the demo's build section compose would build the missing image, not fail.
    override.write_text(f"services:\n  redis:\n    image: {missing}\n    pull_policy: never\n    build: !reset null\n")
    try:
        skid = Skid(project, extra=(override,))
        result = skid.up("redis")
        assert result.code == 1, result.out
        [line] = result.err.strip().splitlines()
        assert line.startswith("skid: compose failed (exit ")
        # Compose's own words for what failed (Podman's say "no such image: docker.io/...").
        assert re.search(rf"no such image: (docker\.io/)?{re.escape(missing)}", line, re.I), line
        assert re.search(rf"no such image: (docker\.io/)?{re.escape(missing)}", result.out, re.I)  # streamed
        assert re.search(r"^redis +not created ", result.out, re.M)  # and the status table still ends it
        assert running(engine, project.name) == set()
    finally:
        project.down()


def test_profiles_json_plans_every_profile_against_the_budgets(engine, skid):
    name = skid.project.name
    stack = skid.stack
    untouched = legacy_files()
    idle = skid.profiles_json()
    assert idle["engine"]["state"] == "connected" and idle["engine"]["mem_total_bytes"] == engine.info.mem_total
    assert idle["running"] == []
    assert set(idle["profiles"]) == set(stack.profiles)
    for profile, row in idle["profiles"].items():
        members = stack.profiles[profile].services
        assert row["expected_bytes"] == sum(STRATEGY[s][0] for s in members)
        assert row["maximum_bytes"] == sum(STRATEGY[s][1] for s in members)
        assert row["host_budget_bytes"] == 6 * GiB
        assert row["capacity_bytes"] == min(6 * GiB, engine.info.mem_total)
        assert row["verdict"] in ("fits", "tight", "does not fit")
        assert row["verdict"] == ("fits" if row["maximum_bytes"] <= row["capacity_bytes"] else row["verdict"])
        assert row["start"] == list(members) and row["stop"] == [] and row["peaks_used"] == []
    assert idle["profiles"]["full"]["maximum_bytes"] == int(4.5 * GiB)

    skid.project.up("redis", "api")
    busy = skid.profiles_json()
    assert busy["running"] == ["api", "redis"]
    minimal = busy["profiles"]["minimal"]
    assert minimal["start"] == ["postgres", "minio"] and minimal["keep"] == ["redis"] and minimal["stop"] == ["api"]
    # redis was just measured, under its 128 MiB standard: a low peak does not lower the estimate.
    measured = PeakStore.default().recorded(name, "redis")
    assert measured is not None and 0 < measured < STRATEGY["redis"][0]
    assert HistoryStore.default().recorded_peaks(name)["redis"] == measured  # saved in the history database
    assert minimal["peaks_used"] == []
    assert minimal["expected_bytes"] == STRATEGY["postgres"][0] + STRATEGY["redis"][0] + STRATEGY["minio"][0]
    # A peak above the standard (recorded on a heavier day) raises it, and is named.
    store = PeakStore.default()
    store.observe(name, "redis", 200 * MiB)
    store.save()
    heavy = skid.profiles_json()["profiles"]["minimal"]
    assert heavy["peaks_used"] == ["redis"]
    assert heavy["expected_bytes"] == STRATEGY["postgres"][0] + 200 * MiB + STRATEGY["minio"][0]
    assert heavy["maximum_bytes"] == 1280 * MiB
    assert busy["engine"]["free_bytes"] < engine.info.mem_total
    assert legacy_files() == untouched


def test_llm_on_then_off(engine, skid, up_d):
    name = skid.project.name
    on = ok(skid.llm("on"))
    assert "llm-advisor needs up to 2.00 GiB" in on.out and "it fits" in on.out
    assert f"--profile llm {up_d} llm-advisor" in on.out  # behind a compose profile: enabled for the call
    assert "llm-advisor" in running(engine, name)
    off = ok(skid.llm("off"))
    assert "--profile llm stop llm-advisor" in off.out
    assert "llm-advisor" not in running(engine, name)
