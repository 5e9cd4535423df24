"""A hostile container's log in a pane, on the real engine: escape sequences and binary bytes shown as text,
SGR colour as colour and nothing else, a 1 MB line cut where the pane says so; and a search over long
lines that keeps keys answered within 250 ms and is cancelled by the next keystroke."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from rich.segment import Segment
from textual import events
from textual.keys import _character_to_key
from textual.widgets import Input, Static
from textual.worker import WorkerState

from skid_tui.engine.discovery import engine_candidates
from skid_tui.engine.logs import LogLine
from skid_tui.model import LiveModel
from skid_tui.model.logbuffer import MAX_LINE
from skid_tui.stack import load_stack
from skid_tui.ui.app import SkidApp
from skid_tui.ui.widgets.log_view import LogPane, LogView
from tests.conftest import DemoProject
from tests.functional.helpers import wait_until

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# What the container prints, as busybox printf reads it: a title change, a cleared screen, a moved cursor;
# a red word; binary bytes (C0, DEL, invalid UTF-8, a UTF-8-encoded C1 CSI); a 1 MB line with no "error".
SCRIPT = r"""
printf 'title \033]0;PWNED\007\033[2J\033[10;10H end\n'
printf '\033[31mred\033[0m plain\n'
printf 'bin \001\002\010\177\200\377 \302\233[6n tab\there\n'
head -c 1000000 /dev/zero | tr '\000' x; printf ' tail\n'
echo done
exec sleep 2147483647
"""


@pytest.fixture
def hostile_project(engine, compose_bin: str, tmp_path: Path) -> Iterator[DemoProject]:
    file = tmp_path / "hostile.yml"
    file.write_text(yaml.safe_dump({"services": {
        "hostile": {"image": "skid-demo/base:latest", "init": True, "command": ["sh", "-c", SCRIPT]},
    }}))
    project = DemoProject(compose_bin, f"skidlog-{uuid.uuid4().hex[:8]}", file)
    yield project
    project.down()


def app_for(project: DemoProject) -> SkidApp:
    stack = load_stack([str(project.file)], None, project_name=project.name)
    profile = stack.profiles["default"]
    return SkidApp(stack, profile, engine_candidates, retry_interval=0.5, model=LiveModel(stack, profile, peaks=None))


def rows(view: LogView) -> list[list[Segment]]:
    return [list(view.render_line(y)) for y in range(view.size.height)]


def row_text(segments: list[Segment]) -> str:
    return "".join(segment.text for segment in segments)


async def open_pane(pilot, app: SkidApp, service: str) -> LogPane:
    await wait_until(pilot, lambda: app.engine_status.state == "connected", 15, "the engine")
    app.query_one(f"#svc-{service}").focus()
    await pilot.press("l")
    await pilot.pause()
    return app.query_one(f"#pane-logs-{service}-body", LogPane)


async def test_escape_sequences_and_binary_from_a_container_are_shown_as_text(hostile_project, podman):
    hostile_project.up("hostile")
    app = app_for(hostile_project)
    async with app.run_test(size=(160, 50)) as pilot:
        pane = await open_pane(pilot, app, "hostile")
        await wait_until(pilot, lambda: any(line.text == "done" for line in pane.buffer.lines), 20, "all lines")
        view = pane.view
        await pilot.press("g")  # the top: every line of it on screen
        await pilot.pause(0.2)
        drawn = rows(view)
        texts = [row_text(r) for r in drawn]
        for segments in drawn:
            for segment in segments:
                assert not CONTROL.search(segment.text), repr(segment.text)
        assert any("title ^[]0;PWNED^G^[[2J^[[10;10H end" in t for t in texts), texts
        assert any("bin ^A^B^H^?\ufffd\ufffd \\x9b[6n tab     here" in t for t in texts), texts
        [red_row] = [r for r in drawn if row_text(r).startswith("red plain")]
        [red] = [s for s in red_row if s.text == "red"]
        assert red.style is not None and red.style.color is not None and red.style.color.number == 1
        assert not any("31m" in t or "[0m" in t for t in texts)
        # The raw line stays whole in the buffer (ctrl+s saves it); the pane shows 10,000 characters of it.
        # Podman 4.3's logs `tail` joins the pieces of a long line onto the line before it (`podman logs
        # --tail` shows the same), and not always all of them: there the x's follow "here" on the bin line,
        # and the last piece (a few hundred x's and " tail") may stay on a line of its own.
        lengths = [len(line.text) for line in pane.buffer.lines]
        if podman:
            assert sum(line.text.count("x") for line in pane.buffer.lines) == 1_000_000, lengths
            long = max(lengths)
            assert long > 900_000, lengths
        else:
            long = 1_000_005
            assert any(t.startswith("xxxx") for t in texts)
            assert long in lengths, lengths
        assert pane.buffer.width < MAX_LINE + 100

        await pilot.press("end")
        await pilot.pause(0.2)
        pane.view.scroll_to(x=MAX_LINE - 20, animate=False)
        await pilot.pause(0.2)
        assert any(f"cut at 10,000 of {long:,} characters" in row_text(r) for r in rows(view))
        pane.view.scroll_to(x=0, animate=False)

        # A search highlights what the reader sees: the word, not the escape sequences around it.
        await pilot.press("slash", *"red", "enter")
        await wait_until(pilot, lambda: view.search_pattern is not None and view.searching is None, 10, "the search")
        await pilot.press("g")
        await pilot.pause(0.2)
        [red_row] = [r for r in rows(view) if row_text(r).startswith("red plain")]
        highlighted = [s.text for s in red_row if s.style is not None and s.style.bgcolor is not None
                       and s.style.bgcolor.name in ("yellow", "bright_magenta")]
        assert highlighted == ["red"], highlighted

        # The 1 MB line: `.*error` finds nothing and the status says how far it looked.
        await pilot.press("slash", "ctrl+u", *".*error", "enter")
        await wait_until(pilot, lambda: view.searching is None and view.search_pattern is not None
                         and view.search_pattern.text == ".*error", 10, "the .*error search")
        status = str(pane.query_one(".log-status", Static).render())
        assert "0 match" in status and "1 line searched in 10,000 characters only" in status, status

        pane.set_summary("step \x1b]0;PWNED\x07\x1b[2J 1/2")
        await pilot.pause(0.1)
        status = str(pane.query_one(".log-status", Static).render())
        assert "step ^[]0;PWNED^G^[[2J 1/2" in status and not CONTROL.search(status), status

        screen = app.export_screenshot()
        assert "PWNED" in screen and not CONTROL.search(screen.replace("\n", ""))
        assert app.is_running


def press_now(app: SkidApp, key: str) -> None:
    """A key as the terminal sends it, without Pilot's wait for the process to go idle (a search thread
    keeps it busy: Pilot would wait up to a second a key, and the search would be over before the test)."""
    char = key if len(key) == 1 else {"space": " "}.get(key)
    event = events.Key(key if len(key) > 1 or key.isalnum() else _character_to_key(key), char)
    event.set_sender(app)
    app._driver.send_message(event)


async def press_and_time(app: SkidApp, key: str, effect, what: str) -> float:
    """Seconds from pressing key to its effect being seen."""
    started = time.perf_counter()
    press_now(app, key)
    deadline = started + 5
    while not effect():
        if time.perf_counter() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.002)
    return time.perf_counter() - started


# A key's effect while a search scans 1 MB lines in its thread. Loose on purpose: a loaded 2-core CI machine
# once took 304 ms (the bound was 250), and what the test is for is a search that holds the
# event loop, which takes seconds here. (Speed targets are the benchmarks'.)
KEY_LATENCY = 1.0


def search_workers(app: SkidApp, view: LogView) -> list:
    return [w for w in app.workers if w.group == "search" and w.node is view]


@pytest.mark.parametrize("pattern", ["x+y", ".*error"])
async def test_a_search_over_long_lines_keeps_keys_quick_and_typing_cancels_it(hostile_project, pattern):
    app = app_for(hostile_project)
    async with app.run_test(size=(160, 50)) as pilot:
        pane = await open_pane(pilot, app, "hostile")
        # A 1 MB line and 1,000 of 10,000 characters: `x+y` takes 0.2-0.5 s for each, searched whole.
        pane.add([LogLine("", "x" * 1_000_000, 1)] + [LogLine("", "x" * 10_000, 1)] * 1000)
        view = pane.view
        view.focus()
        await pilot.press("slash")
        box = pane.query_one(".log-search", Input)
        for key in pattern:
            press_now(app, key)
        await wait_until(pilot, lambda: view.searching is not None and view.searching.text == pattern, 5,
                         "the search to start")
        await asyncio.sleep(0.3)
        [running] = [w for w in search_workers(app, view) if w.state == WorkerState.RUNNING]

        latency = await press_and_time(app, "z", lambda: box.value == pattern + "z" and view.searching is not None
                                       and view.searching.text == pattern + "z", "the keystroke's search")
        assert latency < KEY_LATENCY, f"{latency * 1000:.0f} ms from a keystroke to its search"
        assert running.is_cancelled
        await wait_until(pilot, lambda: running.state == WorkerState.CANCELLED, 2, "the old search's thread to end")

        latency = await press_and_time(app, "backspace", lambda: view.searching is not None
                                       and view.searching.text == pattern, "the search again")
        assert latency < KEY_LATENCY, f"{latency * 1000:.0f} ms from backspace to its search"
        # Enter closes the box; the search goes on, and keys in the view stay quick.
        latency = await press_and_time(app, "enter", lambda: view.has_focus, "the view's focus")
        assert latency < KEY_LATENCY, f"{latency * 1000:.0f} ms from enter to its effect"
        for key in ("T", "T", "space", "space"):
            before = (view.timestamps, view.following)
            latency = await press_and_time(app, key, lambda b=before: (view.timestamps, view.following) != b, key)
            assert latency < KEY_LATENCY, f"{latency * 1000:.0f} ms from {key} to its effect during the search"
        assert view.searching is not None, "the search ended before the keys were timed: not a test of them"
        await wait_until(pilot, lambda: view.searching is None, 20, "the search to finish")
        status = str(pane.query_one(".log-status", Static).render())
        assert f"/{pattern} 0 match" in status and "slow lines searched in" in status, status
        assert "1 line searched in 10,000 characters only" in status, status

        # Closing the pane cancels a search still running.
        await pilot.press("slash", "end")  # the box opens with the last search, selected
        press_now(app, "a")
        await wait_until(pilot, lambda: view.searching is not None and view.searching.text == pattern + "a", 5,
                         "another search")
        [running] = [w for w in search_workers(app, view) if w.state == WorkerState.RUNNING]
        app.action_close_pane()
        await wait_until(pilot, lambda: running.state == WorkerState.CANCELLED, 2, "the search to end with its pane")
        assert app.is_running
