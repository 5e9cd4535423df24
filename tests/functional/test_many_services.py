"""A 1,000-service stack (loaded from a generated compose file, nothing created) against the real engine: the
dashboard paints quickly, keys move the selection and the screen shows it at once, q quits at once. Past 1,000
services it says so and builds no panel."""

from __future__ import annotations

import dataclasses
import time
import uuid
from pathlib import Path

from skid_tui.engine.discovery import engine_candidates
from skid_tui.model import LiveModel
from skid_tui.stack import Stack, load_stack
from skid_tui.stack.limits import MAX_SERVICES
from skid_tui.ui.app import SkidApp
from skid_tui.ui.widgets.service_grid import ServiceGrid
from skid_tui.ui.widgets.service_panel import ServicePanel
from tests.conftest import DemoProject
from tests.functional.helpers import wait_until

SIZE = (160, 48)  # three panels a row, about four rows in view
# Bounds far above what the dashboard needs (start-up ~0.5 s, a key ~0.1 s under Pilot), so a loaded CI
# machine passes while the old dashboard (every panel mounted: 3 s to start, 0.4-0.8 s a key) would not.
START_BOUND = 10.0
KEY_BOUND = 2.0
QUIT_BOUND = 5.0


def many_services(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "many.yml"
    with path.open("w") as f:
        f.write("services:\n")
        for i in range(n):
            f.write(f"  svc{i:04d}:\n    image: skid-demo/base:latest\n    command: [sleep, '3600']\n"
                    f"    mem_limit: 16m\n")
    return path


def app_for(stack: Stack) -> SkidApp:
    profile = next(iter(stack.profiles.values()), None)
    model = LiveModel(stack, profile, peaks=None)
    return SkidApp(stack, profile, engine_candidates, retry_interval=0.5, model=model)


def name(i: int) -> str:
    return f"svc{i:04d}"


def on_screen(app: SkidApp, service: str) -> bool:
    """The service's panel is focused, inside the grid's viewport and in the rendered screen."""
    focused = app.focused
    if not isinstance(focused, ServicePanel) or focused.service != service:
        return False
    grid = app.query_one(ServiceGrid)
    return focused in grid.visible_panels() and service in app.export_screenshot()


async def test_a_thousand_services_start_quickly_and_answer_keys(engine, tmp_path):
    stack = load_stack([str(many_services(tmp_path, 1000))], None, project_name=f"skidmany-{uuid.uuid4().hex[:8]}")
    assert len(stack.services) == 1000
    app = app_for(stack)
    started = time.monotonic()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: on_screen(app, name(0)), START_BOUND, "the first panel painted")
        await wait_until(pilot, lambda: app.engine_status.state == "connected", START_BOUND, "the engine")
        startup = time.monotonic() - started
        assert startup < START_BOUND
        grid = app.query_one(ServiceGrid)
        # Virtualised: only the rows near the view are widgets, whatever the stack's size.
        assert len(app.query(ServicePanel)) <= 60
        panel = grid.panel(name(0))
        assert panel is not None and "not created" in panel.view.state_text

        latencies = {}
        # (key, the service it selects): j and down a row (three panels), end the last, home the first,
        # pagedown a page of rows, right the next panel.
        for key, expected in [("j", 3), ("down", 6), ("j", 9), ("j", 12), ("j", 15), ("end", 999), ("k", 996),
                              ("home", 0), ("pagedown", 9), ("right", 10)]:
            pressed = time.monotonic()
            await pilot.press(key)
            shown = await wait_until(pilot, lambda e=expected: on_screen(app, name(e)), KEY_BOUND,
                                     f"{name(expected)} selected and in view after {key}")
            latencies[key] = shown - pressed
            assert len(app.query(ServicePanel)) <= 60
        assert max(latencies.values()) < KEY_BOUND, latencies

        pressed = time.monotonic()
        await pilot.press("q")
    assert time.monotonic() - pressed < QUIT_BOUND
    assert not app.is_running


async def test_scrolling_away_moves_the_selection_into_view(tmp_path):
    stack = load_stack([str(many_services(tmp_path, 300))], None, project_name="skidmany-scroll")
    app = SkidApp(stack, None, lambda: [], watch=False, model=LiveModel(stack, None, peaks=None))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: on_screen(app, name(0)), START_BOUND, "the first panel")
        grid = app.query_one(ServiceGrid)
        grid.scroll_to(y=50 * 9, animate=False)  # the mouse wheel or the scrollbar: rows 50 on
        await wait_until(pilot, lambda: isinstance(app.focused, ServicePanel) and app.focused in grid.visible_panels()
                         and app.focused.service >= name(150), KEY_BOUND, "the selection in the new view")
        assert grid.panel(name(0)) is None  # far away now: unmounted
        await pilot.press("j")
        await wait_until(pilot, lambda: app.focused in grid.visible_panels(), KEY_BOUND, "j from there")
        assert app.focused.service >= name(153)
        selected = app.focused.service
        await pilot.resize_terminal(100, 40)  # three columns become two: the selection keeps its place in view
        await wait_until(pilot, lambda: on_screen(app, selected), KEY_BOUND, "the selection after a resize")
        await pilot.press("end")
        await wait_until(pilot, lambda: on_screen(app, name(299)), KEY_BOUND, "the last panel in two columns")
        assert grid.panel(name(298)) is not None and grid.panel(name(297)) is not None


def too_many(stack: Stack, n: int) -> Stack:
    """A stack past the limit by a path other than the loader (which refuses one): the dashboard must refuse."""
    spec = next(iter(stack.services.values()))
    services = dict(stack.services)
    for i in range(len(services), n):
        services[name(i)] = dataclasses.replace(spec, name=name(i))
    return dataclasses.replace(stack, services=services)


async def test_more_than_a_thousand_services_are_refused_with_a_message(tmp_path):
    stack = too_many(load_stack([str(many_services(tmp_path, 10))], None, project_name="skidmany-refused"),
                     MAX_SERVICES + 1)
    app = app_for(stack)
    started = time.monotonic()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert time.monotonic() - started < START_BOUND
        screen = app.export_screenshot().replace("\xa0", " ").replace("&#160;", " ")
        assert "This stack has 1,001 services; the dashboard shows at most 1,000." in screen
        assert not app.query(ServicePanel)
        assert app.engine_status.state == "connecting"  # it does not even try the engine
        for key in ("j", "end", "space", "l", "a", "z", "b", "t", "p"):  # keys that need a panel do nothing
            await pilot.press(key)
            if len(app.screen_stack) > 1:
                await pilot.press("escape")
        assert app.is_running
        pressed = time.monotonic()
        await pilot.press("q")
    assert time.monotonic() - pressed < QUIT_BOUND


async def test_on_the_api_path_only_panels_in_view_keep_a_stats_stream(engine, compose_bin, tmp_path):
    """Sixteen running services, about nine in view: streams for those, a reading every few seconds for
    the rest, and every panel has its memory from the start (scrolled to, it shows a number at once)."""
    project = DemoProject(compose_bin, f"skidfocus-{uuid.uuid4().hex[:8]}", many_services(tmp_path, 16))
    try:
        project.up()
        stack = load_stack([str(project.file)], None, project_name=project.name)
        profile = next(iter(stack.profiles.values()), None)
        app = SkidApp(stack, profile, engine_candidates, retry_interval=0.5, stats="api",
                      model=LiveModel(stack, profile, peaks=None))
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.first_paint_at is not None, 20, "every panel's memory")
            in_view = {p.service for p in app.query_one(ServiceGrid).visible_panels()}
            assert 3 <= len(in_view) < 16, in_view
            sampler = app.watcher._sampler
            await wait_until(pilot, lambda: len(sampler._streams) == len(in_view), 10, "streams for the panels in view")
            assert all(app.model.resources(name(i)).mem_bytes for i in range(16))
            # Scrolled to the end: the last panels get streams, the first ones give theirs up.
            await pilot.press("end")
            await wait_until(pilot, lambda: name(15) in {p.service for p in
                                                         app.query_one(ServiceGrid).visible_panels()}, 5, "the end")
            last = {c.id for c in app.containers[name(15)]}
            await wait_until(pilot, lambda: last <= set(sampler._streams), 10, "a stream for the last panel")
            first = {c.id for c in app.containers[name(0)]}
            assert not first & set(sampler._streams) and first <= set(sampler._polled)
    finally:
        project.down()
