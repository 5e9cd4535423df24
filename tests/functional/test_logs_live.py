"""Service logs on the real private engine: live within a second, across restarts, search, filter, floods."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import psutil

from skid_tui.engine.containers import parse_engine_time
from skid_tui.engine.discovery import engine_candidates
from skid_tui.model import LiveModel
from skid_tui.stack import load_stack
from skid_tui.ui.app import SkidApp
from skid_tui.ui.widgets.log_view import LogPane, LogView
from tests.conftest import REPO, RESOURCES
from tests.functional.helpers import wait_until


def app_for(project: str) -> SkidApp:
    stack = load_stack([str(RESOURCES)], None, project_name=project)
    return SkidApp(stack, stack.profiles["default"], engine_candidates, model=LiveModel(stack, None, peaks=None))


async def open_pane(pilot, app: SkidApp, service: str) -> LogPane:
    await wait_until(pilot, lambda: app.engine_status.state == "connected", 10, "the engine")
    app.query_one(f"#svc-{service}").focus()
    await pilot.press("l")
    await pilot.pause()
    return app.query_one(f"#pane-logs-{service}-body", LogPane)


async def test_a_new_line_shows_within_a_second_and_the_pane_survives_a_restart(engine, resource_project, podman):
    resource_project.up("talker")
    app = app_for(resource_project.name)
    async with app.run_test(size=(160, 60)) as pilot:
        pane = await open_pane(pilot, app, "talker")
        await wait_until(pilot, lambda: pane.buffer.total >= 3, 10, "the first lines")
        assert pane.buffer.lines[0].text == "hello from talker"  # the history came first
        delays = []
        for _ in range(5):
            seen = pane.buffer.total
            await wait_until(pilot, lambda seen=seen: pane.buffer.total > seen, 5, "a new line")
            line = pane.buffer.lines[-1]
            delays.append(time.time() - parse_engine_time(line.ts).timestamp())
        # Podman stamps whole seconds: a line's stamp is up to a second before it was written.
        assert max(delays) < (2.0 if podman else 1.0), delays
        assert any(line.stream == 2 and "warning" in line.text for line in pane.buffer.lines)  # stderr too

        await asyncio.to_thread(resource_project.compose, "restart", "-t", "1", "talker")
        await wait_until(pilot, lambda: any("running again" in line.text for line in pane.buffer.lines), 15,
                         "the pane noting the restart")
        restarted_at = pane.buffer.total
        await wait_until(pilot, lambda: pane.buffer.total > restarted_at + 2, 10, "lines after the restart")
        texts = [line.text for line in pane.buffer.lines]
        assert texts.count("hello from talker") == 2  # once per start, none repeated by the reopen


async def test_search_and_filter_find_lines(engine, resource_project):
    resource_project.up("talker")
    app = app_for(resource_project.name)
    async with app.run_test(size=(160, 60)) as pilot:
        pane = await open_pane(pilot, app, "talker")
        await wait_until(pilot, lambda: pane.buffer.matches(__import__("re").compile("warning")) >= 2, 15,
                         "two warnings")
        view = pane.query_one(LogView)
        view.focus()
        await pilot.press("slash")
        await pilot.press(*"multiple of")
        await pilot.press("enter")
        await pilot.pause()
        assert view.search_pattern is not None and view.current is not None
        first = view.current
        assert "multiple of" in pane.buffer.lines[first - pane.buffer.first].text
        assert not view.following  # a search stops following, to keep the match in view
        await pilot.press("n")
        assert view.current != first or pane.buffer.matches(view.search_pattern) == 1
        await pilot.press("f")
        await pilot.pause()
        assert pane.buffer.filter is not None
        assert all("multiple of" in pane.buffer.view_line(r).text for r in range(pane.buffer.view_len()))
        await pilot.press("f")
        assert pane.buffer.filter is None
        await pilot.press("space")  # follow again
        assert view.following


async def test_a_flood_keeps_memory_bounded(engine, resource_project):
    app = app_for(resource_project.name)
    rss = psutil.Process(os.getpid()).memory_info().rss
    async with app.run_test(size=(160, 60)) as pilot:
        pane = await open_pane(pilot, app, "flood")  # open before it starts: every line of it is new
        await pilot.pause(0.5)
        await asyncio.to_thread(resource_project.up, "flood")
        await wait_until(pilot, lambda: pane.buffer.total >= 300_000, 60, "300,000 lines")
        assert len(pane.buffer.lines) == pane.buffer.capacity == 100_000
        assert pane.buffer.lines[-1].text == "flood line 300000"
        grown = psutil.Process(os.getpid()).memory_info().rss - rss
        assert grown < 100 * 1024**2, f"RSS grew {grown / 1024**2:.0f} MiB"


def test_skid_logs_prints_the_same_lines(engine, resource_project):
    resource_project.up("talker")
    time.sleep(1.5)
    cmd = [sys.executable, "-m", "skid_tui", "--compose", str(RESOURCES), "-p", resource_project.name, "logs",
           "talker", "--tail", "3"]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=30, check=False)
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.splitlines()) == 3 and "tick" in out.stdout
