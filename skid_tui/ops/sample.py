"""A complete sample of the stack without a UI: the watcher on a thread, its updates applied to a LiveModel
on the caller's thread. `skid monitor`, `status` after a change and `profiles` read the same numbers as the
dashboard, because they run the same watcher into the same model."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

from skid_tui.engine.client import engine_timeout
from skid_tui.engine.discovery import EngineCandidate
from skid_tui.engine.sampler import StatsMode
from skid_tui.engine.watcher import EngineStatus, StackWatcher, WatchUpdate
from skid_tui.model import LiveModel, PeakStore
from skid_tui.model.history import DEFAULT_MAX_BYTES, HistoryRecorder, HistoryStore
from skid_tui.stack import Profile, Stack


def history_recorder(history_bytes: int | None) -> HistoryRecorder | None:
    """The recorder a sampling process writes its readings through (None: the user keeps no history)."""
    if history_bytes == 0:
        return None
    return HistoryRecorder(HistoryStore.default(history_bytes or DEFAULT_MAX_BYTES))


class ModelFeed:
    """Runs the watcher in a thread and applies its updates to a model on the caller's thread; the model's
    history recorder, if it has one, runs as long as the feed does."""

    def __init__(self, model: LiveModel, project: str, candidates: Callable[[], list[EngineCandidate]],
                 stats: StatsMode) -> None:
        self.model = model
        self.updates: queue.Queue[WatchUpdate] = queue.Queue()
        self.watcher = StackWatcher(project, candidates, self.updates.put, stats=stats)
        self.thread = threading.Thread(target=self.watcher.run, name="skid-monitor-watcher", daemon=True)

    def __enter__(self) -> ModelFeed:
        if isinstance(self.model.history, HistoryRecorder):
            self.model.history.start()
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.watcher.stop()
        # A watcher blocked on an engine that does not answer wakes at its request deadline, not now: the
        # thread is a daemon, so do not make the command wait for it.
        self.thread.join(timeout=1)
        if self.model.peaks is not None:
            self.model.peaks.save()
        if isinstance(self.model.history, HistoryRecorder):
            self.model.history.stop()

    def drain(self, timeout: float) -> None:
        """Apply what arrives within `timeout` seconds (at least one update if any comes)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                update = self.updates.get(timeout=max(0.0, remaining)) if remaining > 0 else self.updates.get_nowait()
            except queue.Empty:
                return
            self.model.apply(update)


CONNECT_REQUESTS = 6  # what connecting costs the watcher: /version, /info, /events, the list, inspects
PODMAN_SAMPLE_TIMEOUT = 12.0  # seconds: two readings of a Podman that sends one every 5 s


def wait_complete(feed: ModelFeed, connect_timeout: float | None = None, sample_timeout: float = 3.0) -> bool:
    """Until every running service has a complete sample (CPU needs two readings), at most
    `sample_timeout` seconds once the engine answered. False when no engine answered, and the model's
    engine status then says why.

    Connecting is bounded by the engine's own request deadlines (`skid status` has the same ones), so a slow
    engine that answers is waited for here as there; `connect_timeout` (default: a few requests' worth of
    `engine_timeout()`) only backs up an engine that keeps trickling bytes and never finishes."""
    limit = CONNECT_REQUESTS * engine_timeout() if connect_timeout is None else connect_timeout
    deadline = time.monotonic() + limit
    while feed.model.engine.state != "connected" and time.monotonic() < deadline:
        if feed.model.engine.state in ("unreachable", "lost"):
            return False
        feed.drain(0.1)
    if feed.model.engine.state != "connected":
        feed.model.apply(EngineStatus("unreachable", message=f"the engine did not finish connecting within "
                                                             f"{limit:g} s (still waiting for its answers)"))
        return False
    info = feed.model.engine.info
    if info is not None and info.kind == "Podman":
        # Its stats come every second on its own stream, but a Podman whose compatible stream is all there
        # is sends one every 5 s: two of those make the first CPU%.
        sample_timeout = max(sample_timeout, PODMAN_SAMPLE_TIMEOUT)
    deadline = time.monotonic() + sample_timeout
    # A full second of CPU time per service, as `docker stats` reports: bursty services read wrong
    # over the quarter second the dashboard's first paint uses.
    while not feed.model.complete(min_cpu_window=0.9) and time.monotonic() < deadline:
        feed.drain(0.05)
    return True


def sample(stack: Stack, profile: Profile | None, candidates: Callable[[], list[EngineCandidate]],
           stats: StatsMode, peaks: PeakStore | None = None) -> LiveModel | None:
    """One complete sample of the stack, as `skid monitor --once` takes it; None when no engine answered."""
    model = LiveModel(stack, profile, peaks=peaks if peaks is not None else PeakStore.default())
    with ModelFeed(model, stack.project, candidates, stats) as feed:
        ok = wait_complete(feed)
    return model if ok else None
