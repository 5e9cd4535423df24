"""The lifecycle commands' plans and words, with a fake compose tool and no engine (the engine-backed
story is tests/functional/test_cli_lifecycle.py)."""

from __future__ import annotations

import contextlib
import io
import json
import stat
from pathlib import Path

import pytest
from rich.console import Console

from skid_tui.cli import lifecycle
from skid_tui.model.active import remembered_profile
from skid_tui.model.planning import start_check
from skid_tui.ops.compose import compose_profiles
from skid_tui.ops.config import Options, load
from tests.conftest import DEMO
from tests.factories import GiB, MiB, demo_stack

NO_ENGINE = "unix:///nonexistent/skid-unit/docker.sock"
FAKE_COMPOSE = """#!/bin/sh
if [ "$1" = version ]; then echo "Docker Compose version v2.40.3"; exit 0; fi
echo "$*" >> "$FAKE_LOG"
echo " Container fake-1  Starting"
if [ -n "$FAKE_FAIL" ]; then echo "Error response from daemon: boom" >&2; exit 3; fi
"""


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def fake(tmp_path, monkeypatch) -> tuple[str, Path]:
    """A compose tool that logs its arguments; no engine answers at the --host given."""
    script = tmp_path / "fake-compose"
    script.write_text(FAKE_COMPOSE)
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    log = tmp_path / "calls.log"
    monkeypatch.setenv("FAKE_LOG", str(log))
    monkeypatch.delenv("FAKE_FAIL", raising=False)
    return str(script), log


def calls(log: Path) -> list[str]:
    """What compose was asked, after `--ansi never -p P -f FILE`."""
    if not log.exists():
        return []
    return [line.split(f"-f {DEMO} ", 1)[1] for line in log.read_text().splitlines()]


def setup(project: str = "skidunit") -> tuple:
    options = Options(compose=(str(DEMO),), project_name=project, host=NO_ENGINE)
    return load(options), options


def run(fn, *args, **kwargs) -> tuple[int, str, str]:
    buffer, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        code = fn(*args, out=Console(file=buffer, width=200, highlight=False), **kwargs)
    return code, buffer.getvalue(), err.getvalue()


def test_up_profile_without_an_engine_stops_every_other_service_then_starts_its_own(fake, tmp_path, monkeypatch):
    tool, log = fake
    # A state dir of its own, with an older skid's active-profile.json: imported, then never written.
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    legacy = tmp_path / "xdg" / "skid-tui" / "active-profile.json"
    legacy.parent.mkdir(parents=True)
    legacy.write_text(json.dumps({"skidunit-up": "minimal", "theirs": "llm"}))
    before = legacy.read_bytes(), legacy.stat().st_mtime_ns
    stack, options = setup("skidunit-up")
    assert remembered_profile("skidunit-up") == "minimal"
    code, out, err = run(lifecycle.cmd_up, stack, options, ["app"], tool)
    assert code == 0, err
    assert calls(log) == [
        "--profile llm --profile dev stop llm-advisor typescript python go",
        "up -d postgres redis minio api orchestrator binary-processor",
    ]
    assert remembered_profile("skidunit-up") == "app" and remembered_profile("theirs") == "llm"
    assert (legacy.read_bytes(), legacy.stat().st_mtime_ns) == before
    # compose is pointed at the engine the user named, and the command shown says so
    assert f"$ DOCKER_HOST={NO_ENGINE} {tool} --ansi never -p skidunit-up" in out
    assert " Container fake-1  Starting" in out
    assert "engine: not reachable" in out


def test_up_services_and_restart_name_only_those(fake):
    tool, log = fake
    stack, options = setup()
    assert run(lifecycle.cmd_up, stack, options, ["redis", "llm-advisor", "redis"], tool)[0] == 0
    assert run(lifecycle.cmd_restart, stack, options, ["api"], tool)[0] == 0
    assert calls(log) == ["--profile llm up -d redis llm-advisor", "restart api"]


def test_a_compose_failure_is_named_on_one_line(fake, monkeypatch):
    tool, _ = fake
    monkeypatch.setenv("FAKE_FAIL", "1")
    stack, options = setup()
    code, out, err = run(lifecycle.cmd_restart, stack, options, ["api", "redis"], tool)
    assert code == 1
    assert err == "skid: compose failed (exit 3): Error response from daemon: boom\n"
    assert "Error response from daemon: boom" in out  # streamed as it came


@pytest.mark.parametrize(("command", "args", "says"), [
    ("cmd_up", (["nope"],), "unknown service 'nope' (expected one of: postgres, redis, minio, api,"),
    ("cmd_up", (["app", "minimal"],), "'app' is a profile: `skid up app` applies it on its own"),
    ("cmd_restart", ([],), "restart needs at least one service"),
    ("cmd_toggle", ("postgress",), "unknown service 'postgress'"),
])  # fmt: skip
def test_bad_input_is_one_line_and_exit_2_before_compose_runs(fake, command, args, says):
    tool, log = fake
    stack, options = setup()
    code, _, err = run(getattr(lifecycle, command), stack, options, *args, tool)
    assert code == 2
    assert err.startswith("skid: ") and err.count("\n") == 1 and says in err
    assert calls(log) == []


def test_llm_takes_on_or_off(fake):
    tool, log = fake
    stack, options = setup()
    code, _, err = run(lifecycle.cmd_llm, stack, options, "maybe", tool, False)
    assert (code, err) == (2, "skid: llm takes 'on' or 'off', not 'maybe'\n")
    assert calls(log) == []


def test_llm_off_stops_the_profiles_on_demand_service(fake):
    tool, log = fake
    stack, options = setup()
    assert run(lifecycle.cmd_llm, stack, options, "off", tool, False)[0] == 0
    assert calls(log) == ["--profile llm stop llm-advisor"]


def test_llm_on_without_an_engine_cannot_check_memory(fake):
    tool, log = fake
    stack, options = setup()
    code, _, err = run(lifecycle.cmd_llm, stack, options, "on", tool, False)
    assert code == 1 and "cannot check whether llm-advisor fits" in err
    assert calls(log) == []


def test_toggle_needs_the_engine_to_know_whether_it_runs(fake):
    tool, log = fake
    stack, options = setup()
    code, _, err = run(lifecycle.cmd_toggle, stack, options, "redis", tool)
    assert code == 1 and err.startswith("skid: no container engine answered") and err.count("\n") == 1
    assert calls(log) == []


def test_no_compose_tool_is_one_line(fake):
    stack, options = setup()
    code, _, err = run(lifecycle.cmd_up, stack, options, ["redis"], "/nonexistent/compose")
    assert code == 1 and err.startswith("skid: no compose tool answered") and err.count("\n") == 1


def test_down_keeps_volumes_unless_asked(fake):
    tool, log = fake
    stack, options = setup()
    assert run(lifecycle.cmd_down, stack, options, False, False, tool, stdin=io.StringIO())[0] == 0
    assert calls(log) == ["--profile llm --profile dev down"]


def test_down_volumes_without_an_engine_lists_nothing_so_deletes_nothing(fake):
    """What goes is listed from the engine (anonymous volumes exist only there): without one, no deletion,
    whatever the answer. The listing, the prompt and --yes: tests/functional/test_volume_consent.py."""
    tool, log = fake
    stack, options = setup()
    for stdin, yes in ((io.StringIO("skidunit\n"), False), (Terminal("skidunit\n"), False), (io.StringIO(), True)):
        code, _, err = run(lifecycle.cmd_down, stack, options, True, yes, tool, stdin=stdin)
        assert code == 1 and err.count("\n") == 1 and "cannot list the volumes" in err
    assert calls(log) == []


def test_compose_profiles_enable_one_profile_per_service_behind_one():
    stack = demo_stack()
    assert compose_profiles(stack, ["postgres", "redis"]) == ()
    assert compose_profiles(stack, ["llm-advisor"]) == ("llm",)
    assert compose_profiles(stack, list(stack.services)) == ("llm", "dev")


def test_up_target_prefers_a_profile_over_a_service_of_the_same_name():
    stack, options = setup()
    assert lifecycle.up_target(stack, options, ["python"]) is stack.profiles["python"]
    assert lifecycle.up_target(stack, options, ["python", "go"]) == ["python", "go"]
    assert lifecycle.up_target(stack, Options(profile="llm"), []) is stack.profiles["llm"]


def test_fit_report_names_what_to_stop_and_what_it_frees():
    stack = demo_stack()
    used = {"postgres": 300 * MiB, "api": 400 * MiB, "orchestrator": 350 * MiB, "redis": 120 * MiB}
    check = start_check(stack, "llm-advisor", free=int(1.5 * GiB), used=used, active=stack.profiles["minimal"],
                        idle=set())
    lines = [str(t) for t in lifecycle.fit_report(check)]
    assert lines == [
        "llm-advisor needs up to 2.00 GiB but the engine has 1.50 GiB free (512 MiB short)",
        "  stopping api (400 MiB), orchestrator (350 MiB) would free 750 MiB",
    ]
    short = start_check(stack, "llm-advisor", free=GiB, used={"api": 100 * MiB}, active=stack.profiles["app"],
                        idle=set())
    assert [str(t) for t in lifecycle.fit_report(short)][1] == "  nothing running could be stopped to make room"


def test_the_llm_service_is_the_profiles_first_on_demand_one():
    stack = demo_stack()
    assert lifecycle.llm_service(stack, stack.profiles["minimal"]) == "llm-advisor"
    assert lifecycle.llm_service(stack, None) == "llm-advisor"
    bare = demo_stack()
    del bare.services["llm-advisor"]
    with pytest.raises(lifecycle.BadInput, match="no LLM service"):
        lifecycle.llm_service(bare, None)


def test_profiles_without_an_engine_still_plan(fake):
    stack, options = setup("skidunit-profiles")
    code, out, err = run(lifecycle.cmd_profiles, stack, options, as_json=False)
    assert code == 0, err
    assert "engine: not reachable" in out
    app = next(line for line in out.splitlines() if line.split()[:1] == ["app"])
    assert app.split()[1:4] == ["fits", "1.25", "GiB"]  # 1280 MiB expected: the standard allocations
    code, out, _ = run(lifecycle.cmd_profiles, stack, options, as_json=True)
    data = json.loads(out)
    assert data["engine"]["state"] == "not reachable" and data["running"] == []
    assert {name: row["verdict"] for name, row in data["profiles"].items()} == dict.fromkeys(stack.profiles, "fits")
    full = data["profiles"]["full"]
    assert (full["expected_bytes"], full["maximum_bytes"], full["capacity_bytes"]) == (
        int(2.25 * GiB), int(4.5 * GiB), 6 * GiB)
    assert full["start"] == list(stack.profiles["full"].services) and full["engine_free_bytes"] is None


def small_engine_model(stack, used: dict[str, int], engine_total: int):
    """A LiveModel as one complete sample would leave it, on an engine of `engine_total` bytes."""
    from skid_tui.engine.client import EngineInfo
    from skid_tui.engine.discovery import EngineCandidate
    from skid_tui.engine.sampler import StatsBatch
    from skid_tui.engine.stats import StatsSample
    from skid_tui.engine.watcher import EngineStatus, ServiceUpdate
    from skid_tui.model import HostMemory, LiveModel
    from tests.factories import container

    model = LiveModel(stack, stack.profiles["minimal"], host_memory=lambda: HostMemory(16 * GiB, 8 * GiB))
    info = EngineInfo("Docker Desktop", "27.0", "1.46", "Docker Desktop", engine_total, 4,
                      EngineCandidate("unix:///fake.sock", "test"))
    model.apply(EngineStatus("connected", info=info))
    samples = []
    for service, mem in used.items():
        c = container(service)
        model.apply(ServiceUpdate(service, (c,)))
        samples.append(StatsSample(c.id, 1.0, mem, engine_total, 5.0, 0, 0, 0, 0, 3, "api", cpu_window=1.0))
    model.apply(StatsBatch(tuple(samples), "api"))
    return model


def test_llm_on_that_does_not_fit_says_what_to_stop_and_needs_force(fake, monkeypatch):
    tool, log = fake
    stack, options = setup("skidunit-llm")
    used = {"postgres": 300 * MiB, "redis": 120 * MiB, "minio": 250 * MiB, "api": 400 * MiB}
    model = small_engine_model(stack, used, engine_total=2 * GiB)  # 2 GiB - 1070 MiB in use: 978 MiB free
    monkeypatch.setattr(lifecycle, "sample", lambda *a, **k: model)

    code, out, err = run(lifecycle.cmd_llm, stack, options, "on", tool, False)
    assert code == 1
    assert "llm-advisor needs up to 2.00 GiB but the engine has 978 MiB free (1.04 GiB short)" in out
    assert "stopping api (400 MiB) would free 400 MiB, not enough on its own" in out  # the one outside minimal
    assert err.count("\n") == 1 and "--force" in err
    assert calls(log) == []

    code, out, _ = run(lifecycle.cmd_llm, stack, options, "on", tool, True)
    assert code == 0 and "starting llm-advisor anyway (--force)" in out
    assert calls(log) == ["--profile llm up -d llm-advisor"]
