"""A hung engine or a hung compose never hangs skid (issue 9, rule 6), on the real private engine.

An engine that accepts and never answers ends each command in about its request deadline with one line
naming what skid waited for; an engine that answers slowly is waited for (status and monitor agree); a
compose command that does not finish is stopped at its deadline, by `c` in the dashboard, or by quitting,
and no compose process is left running."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import select as sel
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from skid_tui.engine.discovery import EngineCandidate, engine_candidates
from skid_tui.model import LiveModel
from skid_tui.stack import load_stack
from skid_tui.ui.app import SkidApp
from tests.conftest import DEMO, PROFILES, REPO
from tests.functional.fake_engines import HungEngine, SlowEngine, fake_compose, process_alive, read_pids
from tests.functional.helpers import wait_until
from tests.functional.test_lifecycle_dashboard import SIZE, log_text, select


def skid(*args: str, env: dict[str, str], timeout: float = 120) -> tuple[subprocess.CompletedProcess, float]:
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "skid_tui", *args], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, check=False)
    return done, time.monotonic() - start


def gone(pids: list[int]) -> bool:
    return not any(process_alive(p) for p in pids)


@pytest.fixture
def short_dir():
    # Unix socket paths are limited to about 100 bytes: pytest's tmp_path is too long for some machines.
    with tempfile.TemporaryDirectory(prefix="skid-", dir="/tmp") as d:
        yield Path(d)


@pytest.mark.parametrize("args", [("status",), ("up", "redis"), ("monitor", "--once"), ("down",)])
def test_a_hung_engine_ends_each_command_in_one_line(engine, demo_project, short_dir, args):
    with HungEngine(short_dir) as hung:
        env = {**demo_project.env, "DOCKER_HOST": hung.url, "SKID_ENGINE_TIMEOUT": "2"}
        done, took = skid("--compose", str(DEMO), "-p", demo_project.name, *args, env=env)
    assert done.returncode == 1, done
    assert took < 15, took  # one request deadline, not compose's forever
    assert done.stderr.splitlines() == [
        f"skid: the engine at {hung.url} did not answer within 2 s (waiting for /version) (DOCKER_HOST); it "
        "accepts connections but does not answer: restart it, or for a slow one raise SKID_ENGINE_TIMEOUT"
    ], done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_a_slow_engine_is_waited_for_by_status_and_monitor_alike(engine, demo_project, short_dir):
    """Every chunk of every answer 2 s late (an overloaded Desktop VM): both commands show the stack."""
    demo_project.up("redis")
    with SlowEngine(short_dir, delay=2.0) as slow:
        env = {**demo_project.env, "DOCKER_HOST": slow.url}
        status, _ = skid("--compose", str(DEMO), "-p", demo_project.name, "status", "--json", env=env)
        monitor, _ = skid("--compose", str(DEMO), "-p", demo_project.name, "monitor", "--once", "--json", env=env)
        assert slow.chunks > 0  # the answers really came through the slow relay
    assert status.returncode == 0, status.stderr
    assert monitor.returncode == 0, monitor.stderr
    assert "redis" in status.stdout and "running" in status.stdout

    services = {s["service"]: s for s in json.loads(monitor.stdout)["services"]}
    assert services["redis"]["state"] == "running", services["redis"]
    assert services["redis"]["mem_bytes"] > 0, services["redis"]


def test_skid_up_stops_compose_at_its_deadline(engine, demo_project, short_dir, up_d):
    script, pids_file = fake_compose(short_dir)
    env = {**demo_project.env, "SKID_COMPOSE_TIMEOUT": "2"}
    done, took = skid("--compose", str(DEMO), "-p", demo_project.name, "--compose-cmd", str(script),
                      "up", "redis", env=env)
    assert done.returncode == 1, done
    assert f"skid: {script} {up_d} redis did not finish within 2 s: stopped it" in done.stderr.splitlines(), done
    assert gone(read_pids(pids_file))
    assert took < 30, took


def app_for(project: str, candidates=engine_candidates, compose_cmd: str | None = None) -> SkidApp:
    stack = load_stack([str(DEMO)], PROFILES, project_name=project)
    model = LiveModel(stack, stack.profiles["minimal"], peaks=None)
    return SkidApp(stack, stack.profiles["minimal"], candidates, retry_interval=0.5, model=model,
                   compose_cmd=compose_cmd)


async def test_the_dashboard_says_what_it_waited_for_and_quits_at_once(demo_project, short_dir, monkeypatch):
    monkeypatch.setenv("SKID_ENGINE_TIMEOUT", "1")
    with HungEngine(short_dir) as hung:
        candidate = EngineCandidate(hung.url, "--host", explicit=True)
        app = app_for(demo_project.name, lambda: [candidate])
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.engine_status.state == "unreachable", 10, "the engine given up on")
            assert "did not answer within 1 s (waiting for /version)" in app.engine_status.message
            await pilot.press("down")  # keys answer while the watcher retries the hung engine
            start = time.monotonic()
            await pilot.press("q")
        assert time.monotonic() - start < 3


async def test_c_cancels_the_running_compose_command_and_quitting_ends_the_next(engine, demo_project, short_dir,
                                                                                   up_d):
    script, pids_file = fake_compose(short_dir)
    app = app_for(demo_project.name, compose_cmd=str(script))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.engine_status.state == "connected"
                         and app.lifecycle.compose_tool is not None, 15, "the engine and the (fake) compose tool")
        await select(pilot, app, "redis")
        await pilot.press("space")
        pids = await asyncio.to_thread(read_pids, pids_file)
        assert app.lifecycle.queue.running is not None and app.lifecycle.queue.pending.get("redis") == "starting"
        await pilot.press("c")
        await wait_until(pilot, app.lifecycle.queue.idle, 10, "the start cancelled")
        assert gone(pids)
        log = log_text(app)
        assert "start redis (toggled): cancelling compose" in log, log
        assert f"✗ start redis (toggled): {script} {up_d} redis cancelled: stopped it" in log, log
        # A second start, then quit while it runs: compose is stopped before the app goes, and said so.
        pids_file.unlink()
        await pilot.press("space")
        pids = await asyncio.to_thread(read_pids, pids_file)
        await pilot.press("q")
    assert gone(pids)
    assert app.lifecycle.exit_lines == [f"quit while {script} {up_d} redis ran: stopped it"]


async def test_the_dashboard_stops_compose_at_its_deadline(engine, demo_project, short_dir, monkeypatch, up_d):
    monkeypatch.setenv("SKID_COMPOSE_TIMEOUT", "1")
    script, pids_file = fake_compose(short_dir, ignore_term=True)
    app = app_for(demo_project.name, compose_cmd=str(script))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.lifecycle.compose_tool is not None, 15, "the (fake) compose tool")
        # Connected first: how skid starts a service depends on the engine (`--no-recreate` on Podman).
        await wait_until(pilot, lambda: app.engine_status.state == "connected", 10, "the engine")
        await select(pilot, app, "redis")
        await pilot.press("space")
        pids = await asyncio.to_thread(read_pids, pids_file)
        await wait_until(pilot, app.lifecycle.queue.idle, 15, "the deadline")
        assert gone(pids)
        assert (f"✗ start redis (toggled): {script} {up_d} redis did not finish within 1 s: killed it (still "
                "running 5 s after SIGTERM)") in log_text(app)


def test_quitting_the_real_dashboard_ends_a_running_compose(engine, demo_project, short_dir):
    """Through the real command line, on a terminal of its own: `skid`, a toggle, then `q`."""
    script, pids_file = fake_compose(short_dir)
    env = {**demo_project.env, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}
    pid, fd = pty.fork()
    if pid == 0:  # the child: skid's dashboard on the pty
        os.chdir(REPO)
        os.execve(sys.executable, [sys.executable, "-m", "skid_tui", "--compose", str(DEMO), "-p", demo_project.name,
                                   "--compose-cmd", str(script)], env)
    out = bytearray()

    def read_for(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = sel.select([fd], [], [], 0.1)
            if ready:
                try:
                    out.extend(os.read(fd, 65536))
                except OSError:
                    return
    try:
        read_for(6)  # the app up, connected, compose detected
        os.write(fd, b" ")  # toggle the first panel
        pids = read_pids(pids_file, timeout=20)
        os.write(fd, b"q")
        status = None
        end = time.monotonic() + 20
        while status is None and time.monotonic() < end:
            read_for(0.5)
            waited, raw = os.waitpid(pid, os.WNOHANG)
            status = os.waitstatus_to_exitcode(raw) if waited else None
    finally:
        if status is None:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(fd)
    assert status == 0, out[-2000:]
    assert gone(pids)
    assert f"skid: quit while {script} up -d".encode() in out, out[-2000:]
