"""The events timeline on the real engine: a service that keeps dying is flagged CRASH LOOP on its panel, and `e`
shows what happened in words, newest first, with the restart count; events from before the dashboard opened
come from the engine's past hour."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from textual.widgets import Static

from skid_tui.engine.discovery import engine_candidates
from skid_tui.model import LiveModel
from skid_tui.stack import load_stack
from skid_tui.ui.app import SkidApp
from skid_tui.ui.screens.events import EventsScreen
from skid_tui.ui.widgets.service_panel import ServicePanel
from tests.conftest import DemoProject
from tests.functional.helpers import static_text, wait_until


@pytest.fixture
def looping_project(engine, compose_bin: str, tmp_path: Path) -> Iterator[DemoProject]:
    file = tmp_path / "loop.yml"
    file.write_text(yaml.safe_dump({"services": {
        "flaky": {"image": "skid-demo/base:latest", "restart": "always",
                  "command": ["sh", "-c", "echo starting; sleep 0.3; exit 3"]},
        "steady": {"image": "skid-demo/base:latest", "init": True, "command": ["sleep", "2147483647"]},
    }}))
    project = DemoProject(compose_bin, f"skidloop-{uuid.uuid4().hex[:8]}", file)
    yield project
    project.down()


async def test_a_crash_loop_is_flagged_and_the_timeline_says_what_happened(engine, looping_project: DemoProject):
    looping_project.up("steady", "flaky")
    # A first restart before the dashboard opens: its die comes from the engine's past hour.
    deadline = time.monotonic() + 30
    while not any(c["State"] == "running" and engine.api.inspect_container(c["Id"])["RestartCount"] >= 1
                  for c in engine.api.containers(filters={"label": "com.docker.compose.service=flaky"})
                  if c["Labels"].get("com.docker.compose.project") == looping_project.name):
        assert time.monotonic() < deadline, "flaky never restarted"
        time.sleep(0.1)
    stack = load_stack([str(looping_project.file)], None, project_name=looping_project.name)
    profile = stack.profiles["default"]
    app = SkidApp(stack, profile, engine_candidates, retry_interval=0.5, model=LiveModel(stack, profile, peaks=None))
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_until(pilot, lambda: app.engine_status.state == "connected", 15, "the engine")
        await wait_until(pilot, lambda: "flaky" in app.crash_loops and app.past_events_in, 60, "the crash loop")
        panel = app.query_one("#svc-flaky", ServicePanel)
        assert panel.view.crash_loop and panel.view.tone == "bad"
        assert not app.query_one("#svc-steady", ServicePanel).view.crash_loop
        assert app.timeline.restarts("flaky") >= 3 and app.timeline.restarts("steady") == 0

        app.query_one("#svc-steady").focus()
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, EventsScreen), 5, "the events screen")
        text = static_text(app.screen.query_one("#events-text", Static), width=120)
        assert "(crash loop)" in text and "flaky died (exit 3)" in text and "steady started" in text, text
        lines = [line for line in text.splitlines() if line[:4].isdigit()]
        assert [line[:19] for line in lines] == sorted((line[:19] for line in lines), reverse=True), lines
        # The first die, before the app opened, is there too (from the engine's past hour).
        events = app.timeline.events()
        assert any(e.action == "die" and e.at < app._opened_at for e in events), (app._opened_at, events)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, EventsScreen)
