"""Past-tense messages from the engine watcher to the app; the app's handlers own the state changes."""

from __future__ import annotations

from textual.message import Message

from skid_tui.engine.builds import BuildResult
from skid_tui.engine.logs import LogLine
from skid_tui.engine.sampler import StatsBatch
from skid_tui.engine.testrun import SuiteResult
from skid_tui.engine.watcher import EngineStatus, ServiceUpdate
from skid_tui.ops.events import ProjectEvent


class EngineStatusChanged(Message):
    """The engine was found, lost, or could not be reached."""

    def __init__(self, status: EngineStatus) -> None:
        super().__init__()
        self.status = status


class ServiceContainersChanged(Message):
    """A service's containers changed (started, stopped, turned healthy, were removed...)."""

    def __init__(self, update: ServiceUpdate) -> None:
        super().__init__()
        self.update = update


class EventsArrived(Message):
    """Project events for the timeline: one live from the watcher, or the past hour's from the engine."""

    def __init__(self, events: list[ProjectEvent], past: bool = False) -> None:
        super().__init__()
        self.events = events
        self.past = past  # the engine's last hour, read once the dashboard connected


class StatsSampled(Message):
    """A tick of resource samples for every running container."""

    def __init__(self, batch: StatsBatch) -> None:
        super().__init__()
        self.batch = batch


class LogLinesArrived(Message):
    """Lines for a log pane (service logs, a build, a test run): in `lines`, or waiting in its mailbox."""

    def __init__(self, pane: str, lines: list[LogLine] | None = None) -> None:
        super().__init__()
        self.pane = pane
        self.lines = lines or []


class JobMessage(Message):
    """About one run (`job`) of a build or a test pane: a late message of an earlier run is ignored."""

    def __init__(self, pane: str, job: int) -> None:
        super().__init__()
        self.pane = pane
        self.job = job


class BuildProgressed(JobMessage):
    """A build began a step (step of steps), or the step it is on was a cache hit."""

    def __init__(self, pane: str, job: int, step: int | None, steps: int | None, cached: bool) -> None:
        super().__init__(pane, job)
        self.step = step
        self.steps = steps
        self.cached = cached


class SuiteStarted(JobMessage):
    """A queued suite's turn came (at: monotonic seconds)."""

    def __init__(self, pane: str, job: int, at: float) -> None:
        super().__init__(pane, job)
        self.at = at


class JobFinished(JobMessage):
    """A build or a suite ended: its result, or None with `error` when it never ran or failed unexpectedly."""

    def __init__(self, pane: str, job: int, result: BuildResult | SuiteResult | None, error: str = "") -> None:
        super().__init__(pane, job)
        self.result = result
        self.error = error
