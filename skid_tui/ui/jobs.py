"""Builds (`b`) and test runs (`t`) in their own panes, beside the live panels; `c` cancels.

Each build or suite is a Job: a pane, a cancel event, and a worker thread that calls the engine
(skid_tui.engine.builds / testrun, the same calls as `skid build` and `skid test`). The thread turns
what it gets into LogLines in the pane's mailbox and posts past-tense messages; the handlers here own
every state change. Several builds run at once; the suites of one pick run one after another.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rich.text import Text
from textual.css.query import NoMatches
from textual.timer import Timer

from skid_tui.engine.builds import BuildEvent, BuildResult, build_service, image_tag
from skid_tui.engine.client import Engine, EngineUnavailable
from skid_tui.engine.logs import LineKind, LogLine
from skid_tui.engine.testrun import MEMORY_LEVELS, NOTE, SuiteResult, parse_memory_limit
from skid_tui.ops.jobs import suites_in_turn
from skid_tui.present import build_summary, seconds_text, suite_summary
from skid_tui.safe_text import strip_sgr
from skid_tui.stack import format_bytes
from skid_tui.ui.messages import BuildProgressed, JobFinished, JobMessage, SuiteStarted
from skid_tui.ui.panes import pane_id
from skid_tui.ui.screens.tests import SuitePickerScreen, TestRequest
from skid_tui.ui.widgets.log_view import LogPane

if TYPE_CHECKING:
    from skid_tui.ui.app import SkidApp

BAR_CELLS = 16
_job_ids = itertools.count(1)


@dataclass
class Job:
    """A build or a suite run, as the UI tracks it."""

    kind: str  # build, test
    name: str  # the service built, or the suite run
    pane: str  # the LogPane's id
    cancel: threading.Event = field(default_factory=threading.Event)
    state: str = "queued"  # queued, running, done
    started: float | None = None
    step: int | None = None
    steps: int | None = None
    cache_hits: int = 0
    limit: int | None = None
    id: int = field(default_factory=lambda: next(_job_ids))


def progress_bar(step: int, steps: int, cells: int = BAR_CELLS) -> str:
    """`███████░░░░░░░░░` for step 3 of 7 (the bar counts steps that have begun)."""
    done = round(cells * min(step, steps) / steps) if steps else 0
    return "█" * done + "░" * (cells - done)


def running_summary(job: Job, now: float) -> str:
    took = seconds_text(now - job.started) if job.started is not None else ""
    if job.kind == "build":
        if job.step is None or not job.steps:
            return f"▶ sending the context · {took}"
        cached = f" · {job.cache_hits} cached" if job.cache_hits else ""
        return f"▶ {progress_bar(job.step, job.steps)} step {job.step}/{job.steps}{cached} · {took}"
    if job.state == "queued":
        return "queued (after the suites before it)"
    return f"▶ running · limit {_limit_text(job.limit)} · {took}"


def _limit_text(limit: int | None) -> str:
    return format_bytes(limit) if limit is not None else "?"


class BuildLines:
    """A build's events as pane lines. A step line waits for the next event so a cache hit is marked
    on the step itself (`Step 2/5 (cached): COPY . /app`)."""

    def __init__(self) -> None:
        self.pending: BuildEvent | None = None

    def feed(self, event: BuildEvent) -> list[LogLine]:
        if event.kind == "step":
            out = self.flush()
            self.pending = event
            return out
        if event.kind == "cache" and self.pending is not None:
            line = LogLine("", self._step(self.pending, cached=True), LineKind.STEP)
            self.pending = None
            return [line]
        out = self.flush()
        # The engine colours a RUN's stderr: the pane styles by kind. Other escapes are shown as text.
        plain = strip_sgr(event.text.rstrip("\r\n"))
        if event.kind == "error":
            out.append(LogLine("", f"error: {plain}", LineKind.ERR))
        elif event.kind == "warning":
            out.append(LogLine("", plain, LineKind.WARN))
        elif event.kind == "cache":
            out.append(LogLine("", "  (cached)", LineKind.NOTE))
        elif plain.lstrip().startswith(_BOOKKEEPING):
            out.append(LogLine("", plain.strip(), LineKind.NOTE))  # the classic builder's bookkeeping, dimmed as a note
        else:
            out.append(LogLine("", f"  {plain}", 2 if "\x1b[91m" in event.text else 1))
        return out

    def flush(self) -> list[LogLine]:
        if self.pending is None:
            return []
        line, self.pending = LogLine("", self._step(self.pending), LineKind.STEP), None
        return [line]

    @staticmethod
    def _step(event: BuildEvent, cached: bool = False) -> str:
        # The mark goes before the instruction: a long RUN line is cut at the pane's edge.
        return f"Step {event.step}/{event.steps}{' (cached)' if cached else ''}: {event.text}"


_BOOKKEEPING = ("---> ", "Removing intermediate container", "Successfully built", "Successfully tagged")


class Jobs:
    """Starting, following, finishing and cancelling builds and test runs; the app holds one."""

    def __init__(self, app: SkidApp) -> None:
        self.app = app
        self.by_pane: dict[str, Job] = {}  # pane id -> the job feeding it (the newest, once finished)
        self.test_limit = "medium"  # the picker starts where the user left it
        self._job_timer: Timer | None = None

    def _engine(self) -> Engine:
        return Engine.first_answering(self.app.candidates())

    def _start_ticker(self) -> None:
        if self._job_timer is None:
            self._job_timer = self.app.set_interval(1.0, self._tick_jobs, name="jobs")

    def _tick_jobs(self) -> None:
        now = time.monotonic()
        for job in self.by_pane.values():
            if job.state == "running":
                self._set_job_summary(job, running_summary(job, now))

    def _set_job_summary(self, job: Job, summary: str | Text) -> None:
        with contextlib.suppress(NoMatches):
            self.app.query_one(f"#{job.pane}", LogPane).set_summary(summary)

    def _active_job(self, kind: str, name: str) -> Job | None:
        return next((j for j in self.by_pane.values() if j.kind == kind and j.name == name and j.state != "done"), None)

    # -- builds ---------------------------------------------------------------------------------------------

    def build_selected(self) -> None:
        service = self.app.selected_service()
        if service is not None:
            self.start_build(service)

    def start_build(self, service: str) -> None:
        spec = self.app.stack.services[service]
        if spec.build is None:
            self.app.notify(f"{service} has no build: section; it runs the image {spec.image}", severity="warning")
            return
        pane, made = self.app.panes.log_pane("build", service, f"build {service}")
        self.app.panes.show(pane_id("build", service))
        if self._active_job("build", service) is not None:
            self.app.notify(f"{service} is already building (c cancels it)")
            return
        if not made:
            self.app.panes.note(pane, "── build again ──")
        job = Job("build", service, pane.id, started=time.monotonic(), state="running")
        self.by_pane[pane.id] = job
        tag = image_tag(self.app.stack, service)
        self.app.panes.note(pane, f"building {tag} from {spec.build.context} ({spec.build.dockerfile}) "
                                  "through the Engine API")
        self._set_job_summary(job, running_summary(job, time.monotonic()))
        deliver = self.app.panes.sink(pane)
        self.app.say(f"build {service}: started ({tag})")
        self._start_ticker()

        def work() -> None:
            lines = BuildLines()

            def on_event(event: BuildEvent) -> None:
                deliver(lines.feed(event))
                if event.kind in ("step", "cache"):
                    self.app.post_message(BuildProgressed(job.pane, job.id, event.step, event.steps,
                                                          event.kind == "cache"))

            try:
                engine = self._engine()
            except EngineUnavailable as exc:
                self.app.post_message(JobFinished(job.pane, job.id, None, f"no engine answered: {exc}"))
                return
            try:
                result = build_service(engine, self.app.stack, service, on_event, job.cancel)
            except Exception as exc:  # whatever it was, the pane must end and say so, not spin forever
                self.app.post_message(JobFinished(job.pane, job.id, None, f"the build failed: {exc!r}"))
                return
            finally:
                engine.close()
            deliver(lines.flush())
            self.app.post_message(JobFinished(job.pane, job.id, result))

        self.app.run_worker(work, thread=True, group="jobs", name=f"build-{service}", exit_on_error=False)
        self.app.call_after_refresh(pane.view.focus)

    def _job_of(self, message: JobMessage) -> Job | None:
        """The job a message is about, if that pane still shows that run (closed, or run again: None)."""
        job = self.by_pane.get(message.pane)
        return job if job is not None and job.id == message.job else None

    def progressed(self, message: BuildProgressed) -> None:
        job = self._job_of(message)
        if job is None or job.state != "running":
            return
        if message.cached:
            job.cache_hits += 1
        else:
            job.step, job.steps = message.step, message.steps
        self._set_job_summary(job, running_summary(job, time.monotonic()))

    # -- test runs ------------------------------------------------------------------------------------------

    def pick_tests(self) -> None:
        if not self.app.stack.suites:
            files = ", ".join(f.name for f in self.app.stack.compose_files)
            self.app.notify(f"{files} declares no test suites (add them under x-skid-tests:)", severity="warning")
            return
        self.app.push_screen(SuitePickerScreen(self.app.stack.suites, MEMORY_LEVELS, self.test_limit), self.run_tests)

    def run_tests(self, request: TestRequest | None) -> None:
        if request is None:
            return
        self.test_limit = request.memory_limit
        limit = parse_memory_limit(request.memory_limit)
        queue: list[tuple[Job, Callable[[list[LogLine]], None]]] = []
        for suite in request.suites:
            busy = self._active_job("test", suite)
            if busy is not None:
                self.app.notify(f"{suite} is already running (c cancels it)")
                continue
            pane, made = self.app.panes.log_pane("test", suite, f"test {suite}")
            if not made:
                self.app.panes.note(pane, "── run again ──")
            job = Job("test", suite, pane.id, limit=limit)
            self.by_pane[pane.id] = job
            self._set_job_summary(job, running_summary(job, time.monotonic()))
            queue.append((job, self.app.panes.sink(pane)))
        if not queue:
            return
        first = queue[0][0]
        self.app.panes.show(first.pane.removesuffix("-body"))
        self.app.say(f"tests: {', '.join(j.name for j, _ in queue)} with a {request.memory_limit} memory limit "
                 f"({_limit_text(limit)})")
        self._start_ticker()

        jobs = {job.name: (job, deliver) for job, deliver in queue}

        def work() -> None:
            try:
                engine = self._engine()
            except EngineUnavailable as exc:
                for job, _ in queue:
                    self.app.post_message(JobFinished(job.pane, job.id, None, str(exc)))
                return

            def started(name: str) -> None:
                job = jobs[name][0]
                self.app.post_message(SuiteStarted(job.pane, job.id, time.monotonic()))

            def lines(name: str, texts: list[str]) -> None:
                jobs[name][1]([LogLine("", t, LineKind.NOTE if t.startswith(NOTE) else LineKind.OUT) for t in texts])

            try:
                for ended in suites_in_turn(engine, self.app.stack, list(jobs), limit,
                                            {name: job.cancel for name, (job, _) in jobs.items()},
                                            started=started, lines=lines):
                    job = jobs[ended.name][0]
                    self.app.post_message(JobFinished(job.pane, job.id, ended.result, ended.error))
            finally:
                engine.close()

        self.app.run_worker(work, thread=True, group="jobs", name="tests", exit_on_error=False)
        self.app.call_after_refresh(self._focus_pane, first.pane)

    def _focus_pane(self, pane_id_: str) -> None:
        with contextlib.suppress(NoMatches):
            self.app.query_one(f"#{pane_id_}", LogPane).view.focus()

    def suite_started(self, message: SuiteStarted) -> None:
        job = self._job_of(message)
        if job is not None and job.state == "queued":
            job.state, job.started = "running", message.at
            self._set_job_summary(job, running_summary(job, time.monotonic()))
            with contextlib.suppress(NoMatches):
                self.app.panes.tabs.active = job.pane.removesuffix("-body")  # the pane of the suite that runs now

    def finished(self, message: JobFinished) -> None:
        job = self._job_of(message)
        if job is None:
            return
        job.state = "done"
        result = message.result
        lines: list[LogLine] = []
        if isinstance(result, BuildResult):
            ok, summary = result.ok, build_summary(result)
            if not ok and result.failing_step is not None:
                number = result.failing_step_number
                where = f"step {number}/{result.steps}" if number else "step"
                lines.append(LogLine("", f"✗ failed at {where}: {result.failing_step}", LineKind.ERR))
        elif isinstance(result, SuiteResult):
            ok, summary = result.passed, suite_summary(result)
        elif job.kind == "build":
            ok, summary = False, Text(f"✗ {job.name} could not build: {message.error}", style="bold red")
        else:
            ok, summary = False, Text(f"✗ {job.name} did not run: {message.error}", style="yellow")
        lines.append(LogLine("", summary.plain, 0 if ok else 2))
        with contextlib.suppress(NoMatches):
            pane = self.app.query_one(f"#{job.pane}", LogPane)
            pane.add(lines)
            pane.set_summary(summary)
        self.app.say(f"{job.kind} {job.name}: {summary.plain}")
        self.app.notify(summary.plain, severity="information" if ok else "error", timeout=6)

    # -- cancel ---------------------------------------------------------------------------------------------

    def cancel_here(self) -> None:
        """The job of the pane on show; else the build of the selected panel's service; else the compose
        command running now (a start, stop or data removal)."""
        job = None
        with contextlib.suppress(NoMatches):
            active = self.app.panes.tabs.active
            if self.app.panes.tabs.display and active:
                job = self.by_pane.get(f"{active}-body")
        if job is None or job.state == "done":
            service = self.app.selected_service()
            job = self._active_job("build", service) if service else None
        if job is None or job.state == "done":
            if not self.app.lifecycle.cancel():
                self.app.notify("nothing to cancel here: no build, test run or compose command running")
            return
        self.cancel_job(job)

    def cancel_job(self, job: Job) -> None:
        if job.cancel.is_set():
            return
        job.cancel.set()
        verb = "build" if job.kind == "build" else "test"
        self.app.say(f"{verb} {job.name}: cancelling")
        self._set_job_summary(job, "cancelling…")

    def pane_closed(self, body: str) -> None:
        job = self.by_pane.pop(body, None)
        if job is not None and job.state != "done":
            self.cancel_job(job)

    def cancel_all(self) -> None:
        for job in self.by_pane.values():
            if job.state != "done":
                job.cancel.set()
