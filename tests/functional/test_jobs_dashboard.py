"""Builds (`b`), test runs (`t`) and cancel (`c`) from the real dashboard, against the private engine."""

from __future__ import annotations

import uuid

from skid_tui.engine.client import PROJECT_LABEL, Engine
from skid_tui.engine.discovery import engine_candidates
from skid_tui.engine.logs import LineKind
from skid_tui.model import LiveModel
from skid_tui.stack import Stack, load_stack
from skid_tui.ui.app import SkidApp
from skid_tui.ui.screens.tests import SuitePickerScreen
from skid_tui.ui.widgets.activity_log import ActivityLog
from skid_tui.ui.widgets.log_view import LogPane
from tests.conftest import DEMO
from tests.functional.buildproject import BuildProject
from tests.functional.helpers import wait_until


def app_for(stack: Stack) -> SkidApp:
    profile = next(iter(stack.profiles.values()), None)
    return SkidApp(stack, profile, engine_candidates, model=LiveModel(stack, None, peaks=None))


def texts(pane: LogPane) -> list[str]:
    return [line.text for line in pane.buffer.lines]


async def connected(pilot, app: SkidApp) -> None:
    await wait_until(pilot, lambda: app.engine_status.state == "connected", 10, "the engine")


async def test_b_builds_the_selected_service_in_its_pane_and_a_rebuild_shows_cache_hits(engine, build_project):
    app = app_for(build_project.stack)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        app.focus_service("app")
        await pilot.press("b")
        await pilot.pause()
        pane = app.query_one("#pane-build-app-body", LogPane)
        assert app.panes.tabs.display and app.panes.tabs.active == "pane-build-app"
        job = app.jobs.by_pane[pane.id]
        await wait_until(pilot, lambda: job.state == "done", 60, "the build to end")
        lines = texts(pane)
        steps = [line.text for line in pane.buffer.lines if line.stream == LineKind.STEP]
        assert [s.split(":")[0].removesuffix(" (cached)") for s in steps] == [f"Step {i}/5" for i in range(1, 6)]
        assert any(t.startswith("  context checked:") for t in lines), lines
        assert pane.summary.plain.startswith("✓ app built in "), pane.summary
        assert build_project.tags["app"] in pane.summary.plain
        assert engine.api.inspect_image(build_project.tags["app"])["Size"] > 0
        assert any("build app: ✓ app built" in line for line in app.query_one(ActivityLog).lines)

        app.focus_service("app")
        await pilot.press("b")  # again, into the same pane: every step after FROM is a cache hit
        await pilot.pause()
        job = app.jobs.by_pane[pane.id]
        await wait_until(pilot, lambda: job.state == "done", 60, "the second build")
        again = [line.text for line in pane.buffer.lines if line.stream == LineKind.STEP][5:]
        assert [s.split(":")[0].endswith("(cached)") for s in again] == [False, True, True, True, True], again
        assert "(4 of 5 steps cached)" in pane.summary.plain


async def test_a_failing_build_is_red_with_its_step_and_c_cancels_a_running_one(engine, build_project: BuildProject):
    app = app_for(build_project.stack)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        app.focus_service("broken")
        await pilot.press("b")
        app.focus_service("slow")
        await pilot.press("b")  # two builds at once
        await pilot.pause()
        broken = app.query_one("#pane-build-broken-body", LogPane)
        slow = app.query_one("#pane-build-slow-body", LogPane)
        await wait_until(pilot, lambda: app.jobs.by_pane[broken.id].state == "done", 60, "the failing build")
        assert any(line.stream == 2 and line.text.startswith("✗ failed at step 2/3: RUN echo")
                   for line in broken.buffer.lines), texts(broken)
        assert broken.summary.plain.startswith("✗ broken failed at step 2/3")
        assert "bold red" in str(broken.summary.style)

        await wait_until(pilot, lambda: any("slow step started" in t for t in texts(slow)), 60, "the slow step")
        app.panes.tabs.active = "pane-build-slow"
        await pilot.pause()
        await pilot.press("c")
        await wait_until(pilot, lambda: app.jobs.by_pane[slow.id].state == "done", 15, "the cancelled build to end")
        assert "cancelled" in slow.summary.plain


async def test_t_runs_the_demo_suites_with_the_chosen_limit_and_reports_pass_fail_and_oom(engine: Engine):
    stack = load_stack([DEMO], project_name=f"skidjobs-{uuid.uuid4().hex[:8]}", environ={})
    app = app_for(stack)
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            await connected(pilot, app)
            app.focus_service("postgres")
            await pilot.press("t")
            await pilot.pause()
            assert isinstance(app.screen, SuitePickerScreen)
            await pilot.press("1")  # low: 512 MiB
            await pilot.press("a")  # every suite, one after another
            await pilot.pause()
            panes = {name: app.query_one(f"#pane-test-{name}-body", LogPane)
                     for name in ("unit-pass", "unit-fail", "memory-hog")}  # fmt: skip
            await wait_until(pilot, lambda: all(app.jobs.by_pane[p.id].state == "done" for p in panes.values()), 90,
                             "the three suites")
            assert panes["unit-pass"].summary.plain.startswith("✓ unit-pass passed in ")
            assert panes["unit-pass"].summary.plain.endswith("of 512 MiB")
            assert "5 passed" in texts(panes["unit-pass"])
            assert panes["unit-fail"].summary.plain.startswith("✗ unit-fail failed (exit 1)")
            assert "test_llm_fits ... FAILED" in texts(panes["unit-fail"])
            assert panes["memory-hog"].summary.plain.startswith("✗ memory-hog OOM-killed at its 512 MiB limit")
            assert app.jobs.test_limit == "low"  # the picker opens where the user left it
    finally:
        left = engine.api.containers(all=True, filters={"label": [f"{PROJECT_LABEL}={stack.project}"]})
        for c in left:
            engine.api.remove_container(c["Id"], force=True)
    assert not left, "test containers were left behind"
