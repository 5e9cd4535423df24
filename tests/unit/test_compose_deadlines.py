"""Every compose run has a deadline, can be cancelled, and leaves no process behind (issue 9, rule 6).

A fake compose tool that hangs (and one that shrugs off SIGTERM) stands in for compose against an engine
that never answers; each test checks that the tool *and the child it spawned* are gone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from skid_tui.engine import compose_tool
from skid_tui.engine.compose_tool import (
    ComposeCall,
    ComposeCancelled,
    ComposeTimedOut,
    ComposeTool,
    end_children,
    live_children,
    run_compose,
)
from tests.functional.fake_engines import fake_compose, process_alive, read_pids


def call_for(script: Path, *args: str) -> ComposeCall:
    return ComposeCall(ComposeTool((str(script),), "2.99.0"), ("demo.yml",), "proj", args or ("up", "-d", "one"))


def gone_within(pids: list[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(process_alive(p) for p in pids):
            return True
        time.sleep(0.02)
    return False


@pytest.fixture(autouse=True)
def quick_grace(monkeypatch):
    monkeypatch.setattr(compose_tool, "STOP_GRACE", 1.0)


def test_deadlines_by_verb_and_from_the_environment(monkeypatch, tmp_path):
    tool = ComposeTool(("docker-compose",), "2.40.3")
    monkeypatch.delenv("SKID_COMPOSE_TIMEOUT", raising=False)

    def deadline(*args: str) -> float:
        return ComposeCall(tool, (), "p", args).deadline()

    assert deadline("up", "-d", "one") == 600
    assert deadline("stop", "one") == deadline("down") == deadline("rm", "--stop", "one") == 120
    assert deadline("pull") == 300
    monkeypatch.setenv("SKID_COMPOSE_TIMEOUT", "7.5")
    assert deadline("up", "-d") == 7.5
    for bad in ("soon", "0", "-3", "inf", "nan", ""):
        monkeypatch.setenv("SKID_COMPOSE_TIMEOUT", bad)
        assert deadline("up", "-d") == 600, bad  # a typo never means "wait forever" or "give up at once"


def test_a_hung_run_ends_at_its_deadline_with_its_whole_process_group(tmp_path):
    script, pids_file = fake_compose(tmp_path)
    lines: list[str] = []
    start = time.monotonic()
    with pytest.raises(ComposeTimedOut) as caught:
        run_compose(call_for(script), lines.append, timeout=1.0)
    took = time.monotonic() - start
    pids = read_pids(pids_file)
    assert gone_within(pids, 2.0), pids
    assert 1.0 <= took < 4.0, took
    assert str(caught.value) == f"{script} up -d one did not finish within 1 s: stopped it"
    assert caught.value.killed is False
    assert lines == ["fake compose: --ansi never -p proj -f demo.yml up -d one"]
    assert live_children() == {}


def test_a_run_that_ignores_sigterm_is_killed_and_says_so(tmp_path):
    script, pids_file = fake_compose(tmp_path, ignore_term=True)
    with pytest.raises(ComposeTimedOut) as caught:
        run_compose(call_for(script), lambda _: None, timeout=0.5)
    pids = read_pids(pids_file)
    assert gone_within(pids, 2.0), pids
    assert caught.value.killed is True
    assert "did not finish within 0.5 s: killed it (still running 1 s after SIGTERM)" in str(caught.value)


def test_a_run_that_finishes_in_time_keeps_its_status_and_output(tmp_path):
    script = tmp_path / "quick-compose"
    script.write_text("#!/bin/sh\necho one; echo two >&2; exit 3\n")
    script.chmod(0o755)
    lines: list[str] = []
    assert run_compose(call_for(script), lines.append, timeout=10) == 3
    assert lines == ["one", "two"]


def run_in_thread(call: ComposeCall, **kwargs) -> tuple[threading.Thread, list[BaseException]]:
    """run_compose on a worker thread, as the dashboard's queue runs it; what it raised lands in the list."""
    raised: list[BaseException] = []

    def target() -> None:
        try:
            run_compose(call, lambda _: None, **kwargs)
        except BaseException as exc:  # kept to assert on
            raised.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, raised


def test_a_set_cancel_event_stops_the_run_on_its_worker_thread(tmp_path):
    script, pids_file = fake_compose(tmp_path)
    cancel = threading.Event()
    thread, raised = run_in_thread(call_for(script), cancel=cancel)
    pids = read_pids(pids_file)
    assert live_children() == {pids[0]: f"{script} up -d one"}
    cancel.set()
    thread.join(5)
    [exc] = raised
    assert isinstance(exc, ComposeCancelled)
    assert str(exc) == f"{script} up -d one cancelled: stopped it"
    assert gone_within(pids, 2.0), pids
    assert live_children() == {}


def test_the_worker_threads_run_has_a_deadline_too(tmp_path):
    script, pids_file = fake_compose(tmp_path, ignore_term=True)
    thread, raised = run_in_thread(call_for(script), timeout=0.5, cancel=threading.Event())
    pids = read_pids(pids_file)
    thread.join(10)
    [exc] = raised
    assert isinstance(exc, ComposeTimedOut) and exc.killed is True
    assert gone_within(pids, 2.0)


def test_end_children_ends_what_is_left_and_says_how(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    polite, polite_pids = fake_compose(tmp_path / "a")
    stubborn, stubborn_pids = fake_compose(tmp_path / "b", ignore_term=True)
    errors: list[BaseException] = []

    def run(script: Path) -> None:
        try:
            run_compose(call_for(script), lambda _: None, timeout=60)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,), daemon=True) for s in (polite, stubborn)]
    for t in threads:
        t.start()
    pids = read_pids(polite_pids) + read_pids(stubborn_pids)
    stopped, killed = end_children(grace=1.0)
    assert stopped == [f"{polite} up -d one"]
    assert killed == [f"{stubborn} up -d one"]
    assert gone_within(pids, 2.0), pids
    for t in threads:
        t.join(5)
    assert end_children() == ([], [])


def test_ctrl_c_stops_compose_and_the_command_ends_as_interrupted(tmp_path):
    """Compose runs in a session of its own (so a plugin it spawns goes with it): Ctrl-C reaches skid alone,
    which ends the run before it exits."""
    script, pids_file = fake_compose(tmp_path)
    code = (
        "import sys\n"
        "from skid_tui.engine.compose_tool import ComposeCall, ComposeInterrupted, ComposeTool, run_compose\n"
        f"call = ComposeCall(ComposeTool(({str(script)!r},), '2'), (), 'proj', ('up', '-d', 'one'))\n"
        "try:\n"
        "    run_compose(call, print)\n"
        "except ComposeInterrupted as exc:\n"
        "    print(exc.message, file=sys.stderr)\n"
        "    sys.exit(130)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[2])
    pids = read_pids(pids_file)
    time.sleep(0.2)  # skid is waiting on compose now (not still starting its reader thread)
    os.kill(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 130, err
    assert err.strip() == f"interrupted: {script} up -d one: stopped it"
    assert gone_within(pids, 2.0), pids
