"""The stack's logs in one pane (`A`) and from `skid logs --all`, on the real engine: two services' lines in time
order, each prefixed by its service; the pane's search and filter narrow it to one service."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from textual.keys import _character_to_key

from skid_tui.engine.discovery import engine_candidates
from skid_tui.engine.logs import ts_key
from skid_tui.model import LiveModel
from skid_tui.safe_text import strip_sgr
from skid_tui.stack import load_stack
from skid_tui.ui.app import SkidApp
from skid_tui.ui.widgets.log_view import LogPane
from tests.conftest import DemoProject
from tests.functional.helpers import wait_until

# Two services that write alternately: "one" at 0, 0.4, 0.8 ... s, "two" 0.2 s later each time.
SCRIPT = "sleep {delay}; for i in 1 2 3 4 5 6; do echo {name}-$$i; sleep 0.4; done; exec sleep 2147483647"


@pytest.fixture
def chatty_project(engine, compose_bin: str, tmp_path: Path) -> Iterator[DemoProject]:
    file = tmp_path / "chatty.yml"
    file.write_text(yaml.safe_dump({"services": {
        name: {"image": "skid-demo/base:latest", "init": True,
               "command": ["sh", "-c", SCRIPT.format(name=name, delay=delay)]}
        for name, delay in (("one", 1.0), ("two", 1.2))
    }}))
    project = DemoProject(compose_bin, f"skidmerge-{uuid.uuid4().hex[:8]}", file)
    yield project
    project.down()


def texts(pane: LogPane) -> list[str]:
    return [strip_sgr(line.text) for line in pane.buffer.lines]


async def test_the_stack_pane_merges_two_services_in_time_order(chatty_project: DemoProject, podman: bool):
    chatty_project.up("one", "two")
    stack = load_stack([str(chatty_project.file)], None, project_name=chatty_project.name)
    profile = stack.profiles["default"]
    app = SkidApp(stack, profile, engine_candidates, retry_interval=0.5, model=LiveModel(stack, profile, peaks=None))
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_until(pilot, lambda: app.engine_status.state == "connected"
                         and all(app.containers.get(s) for s in ("one", "two")), 15, "both containers")
        await pilot.press("A")
        await pilot.pause()
        pane = app.query_one("#pane-stack-all-body", LogPane)
        try:
            await wait_until(pilot, lambda: "two | two-6" in texts(pane), 30, "every line of both")
        except AssertionError:
            merger = app.panes.merger
            raise AssertionError((texts(pane), merger and (merger._expected, merger._heard, merger._released,
                                                           {s: len(v) for s, v in merger._pending.items()}),
                                  {k: f.via for k, f in app.panes.followers.items()})) from None
        lines = [line for line in pane.buffer.lines if line.ts]
        assert [ts_key(line.ts) for line in lines] == sorted(ts_key(line.ts) for line in lines)
        shown = [t for t in texts(pane) if "-" in t]
        assert sorted(shown) == [f"{name} | {name}-{i}" for name in ("one", "two") for i in range(1, 7)], shown
        # Podman 4.3 stamps followed lines to the whole second: within one, each service's lines stay together.
        assert podman or shown[:4] == ["one | one-1", "two | two-1", "one | one-2", "two | two-2"], shown
        assert pane.buffer.lines[0].text.startswith("\x1b[")  # the service's name in its colour

        # The search (a regular expression) and its filter narrow the pane to one service.
        pane.view.focus()
        await pilot.press("slash")
        await pilot.press(*[_character_to_key(c) for c in "^two "])
        await pilot.press("enter")
        await wait_until(pilot, lambda: pane.view.search_pattern is not None, 5, "the search")
        await pilot.press("f")
        await wait_until(pilot, lambda: pane.buffer.filtering, 5, "the filter")
        await pilot.pause(0.2)
        rows = [strip_sgr("".join(s.text for s in pane.view.render_line(y))).strip()
                for y in range(pane.view.size.height)]
        assert any(r.startswith("two | two-1") for r in rows) and not any(r.startswith("one |") for r in rows), rows


def skid_logs(project: DemoProject, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "skid_tui", "--compose", str(project.file), "--project-name",
                           project.name, "logs", *args], capture_output=True, text=True, timeout=60,
                          env=project.env, check=False)


async def test_skid_logs_all_prints_the_same_merge(chatty_project: DemoProject, podman: bool):
    chatty_project.up("one", "two")
    await asyncio.sleep(4.0)  # every line written
    result = await asyncio.to_thread(skid_logs, chatty_project, "--all")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    merged = [f"{name} | {name}-{i}" for i in range(1, 7) for name in ("one", "two")]
    assert sorted(lines) == sorted(merged), lines
    assert podman or lines == merged, lines  # Podman's whole-second stamps: see the pane's test
    plain = await asyncio.to_thread(skid_logs, chatty_project)  # no service: the same
    assert plain.stdout == result.stdout
