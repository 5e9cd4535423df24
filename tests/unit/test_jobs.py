"""The dashboard's build and test-run bookkeeping, without an engine: how events become pane lines."""

from __future__ import annotations

from skid_tui.engine.builds import BuildEvent
from skid_tui.engine.logs import LineKind
from skid_tui.ui.jobs import BuildLines, Job, progress_bar, running_summary

STEP, WARNING = LineKind.STEP, LineKind.WARN


def lines_of(*events: BuildEvent) -> list[tuple[str, int]]:
    conv = BuildLines()
    out = [line for e in events for line in conv.feed(e)] + conv.flush()
    return [(line.text, line.stream) for line in out]


def test_a_cache_hit_is_marked_on_its_step_before_the_instruction():
    got = lines_of(
        BuildEvent("step", "FROM base", 1, 3),
        BuildEvent("output", " ---> 9528e6cc9c2c", 1, 3),
        BuildEvent("step", "COPY . /app", 2, 3),
        BuildEvent("cache", "Using cache", 2, 3),
        BuildEvent("step", "RUN make", 3, 3),
    )
    assert got == [
        ("Step 1/3: FROM base", STEP),
        ("---> 9528e6cc9c2c", 0),
        ("Step 2/3 (cached): COPY . /app", STEP),
        ("Step 3/3: RUN make", STEP),  # flushed at the end though nothing followed it
    ]


def test_stderr_warnings_and_errors_get_their_own_styles_without_ansi():
    got = lines_of(
        BuildEvent("step", "RUN x", 1, 1),
        BuildEvent("output", "\x1b[91mnpm ERR! oops\x1b[0m", 1, 1),
        BuildEvent("output", "plain output", 1, 1),
        BuildEvent("warning", "npm warn deprecated left-pad", 1, 1),
        BuildEvent("error", "The command '/bin/sh -c x' returned a non-zero code: 3", 1, 1),
    )
    assert got == [
        ("Step 1/1: RUN x", STEP),
        ("  npm ERR! oops", 2),
        ("  plain output", 1),
        ("npm warn deprecated left-pad", WARNING),
        ("error: The command '/bin/sh -c x' returned a non-zero code: 3", 2),
    ]


def test_progress_bar_counts_begun_steps():
    assert progress_bar(0, 8, cells=8) == "░" * 8
    assert progress_bar(3, 8, cells=8) == "███░░░░░"
    assert progress_bar(8, 8, cells=8) == "█" * 8
    assert progress_bar(9, 8, cells=8) == "█" * 8
    assert progress_bar(1, 0, cells=4) == "░░░░"


def test_running_summaries():
    build = Job("build", "api", "pane-build-api-body", state="running", started=100.0)
    assert running_summary(build, 102.0) == "▶ sending the context · 2.0 s"
    build.step, build.steps, build.cache_hits = 2, 4, 1
    assert running_summary(build, 165.0) == "▶ ████████░░░░░░░░ step 2/4 · 1 cached · 1 min 05 s"
    test = Job("test", "unit-pass", "pane-test-unit-pass-body", limit=512 * 1024**2)
    assert running_summary(test, 0.0) == "queued (after the suites before it)"
    test.state, test.started = "running", 10.0
    assert running_summary(test, 13.5) == "▶ running · limit 512 MiB · 3.5 s"


async def test_a_late_finish_of_an_earlier_run_does_not_end_the_new_one():
    from skid_tui.model import LiveModel
    from skid_tui.ui.app import SkidApp
    from skid_tui.ui.messages import JobFinished
    from tests.factories import demo_stack

    stack = demo_stack()
    app = SkidApp(stack, None, lambda: [], watch=False, model=LiveModel(stack, None, peaks=None))
    async with app.run_test(size=(120, 40)) as pilot:
        pane, _ = app.panes.log_pane("test", "unit-pass", "test unit-pass")
        earlier = Job("test", "unit-pass", pane.id, state="running")  # closed and run again meanwhile
        now = Job("test", "unit-pass", pane.id, state="running")
        app.jobs.by_pane[pane.id] = now
        app.post_message(JobFinished(pane.id, earlier.id, None, "cancelled"))
        app.post_message(JobFinished("pane-build-gone-body", 999, None, "its pane was closed"))
        await pilot.pause()
        assert now.state == "running" and pane.buffer.total == 0
        app.post_message(JobFinished(pane.id, now.id, None, "no engine answered"))
        await pilot.pause()
        assert now.state == "done"
        assert pane.summary.plain == "✗ unit-pass did not run: no engine answered"
