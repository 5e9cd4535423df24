"""The one owner of the engine's events stream: keeps every service's containers current, reconnects.

State comes from the events stream, reconciled with one container list at start and after every
reconnect; there is no polling loop over the container list. Runs in a thread (`run()` blocks); its
listener is called from that thread with immutable updates.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from skid_tui.engine.client import (
    ENGINE_ERRORS,
    SERVICE_LABEL,
    Attempt,
    Engine,
    EngineInfo,
    EngineUnavailable,
    describe_error,
)
from skid_tui.engine.containers import (
    ContainerSnapshot,
    read_project,
    service_containers,
    snapshot_from_inspect,
)
from skid_tui.engine.discovery import EngineCandidate
from skid_tui.engine.sampler import StatsBatch, StatsMode, StatsSampler

EngineState = Literal["connecting", "connected", "unreachable", "lost"]


@dataclass(frozen=True)
class EngineStatus:
    """Whether skid has an engine, which one, and if not, what it tried."""

    state: EngineState
    info: EngineInfo | None = None
    attempts: tuple[Attempt, ...] = ()
    message: str = ""
    retry_interval: float = 0.0
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class ServiceUpdate:
    """A service's containers, as they are now; `event` names the engine event that changed them."""

    service: str
    containers: tuple[ContainerSnapshot, ...]
    event: str | None = None
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class EngineEvent:
    """One of the project's container events as the engine sent it (the events timeline reads these)."""

    doc: Mapping[str, Any]


WatchUpdate = EngineStatus | ServiceUpdate | StatsBatch | EngineEvent
Listener = Callable[[WatchUpdate], None]


def event_action(event: Mapping[str, Any]) -> str:
    """The event's action without its detail: "health_status: healthy" -> "health_status"."""
    action = str(event.get("Action") or event.get("status") or "")
    return action.split(":", 1)[0].strip()


def event_container(event: Mapping[str, Any]) -> tuple[str, str]:
    """(container id, compose service) named by a container event."""
    actor = event.get("Actor") or {}
    attrs = actor.get("Attributes") or {}
    return str(actor.get("ID") or event.get("id") or ""), str(attrs.get(SERVICE_LABEL, ""))


GONE_ACTIONS = frozenset({"destroy", "remove"})


class StackWatcher:
    """Follows one compose project on whichever engine answers, for as long as `stop()` is not called."""

    def __init__(
        self,
        project: str,
        candidates: Callable[[], list[EngineCandidate]],
        listener: Listener,
        *,
        retry_interval: float = 3.0,
        connect_timeout: float | None = None,  # seconds per engine request; None: engine_timeout()
        stats: StatsMode | None = "auto",
        stats_interval: float = 1.0,
    ) -> None:
        self.project = project
        self._candidates = candidates
        self._listener = listener
        self.retry_interval = retry_interval
        self.connect_timeout = connect_timeout
        self._stopped = threading.Event()
        self._stream: Any = None
        self._containers: dict[str, ContainerSnapshot] = {}
        self._emitted: dict[str, tuple[ContainerSnapshot, ...]] = {}
        self.stats_mode = stats
        self.stats_interval = stats_interval
        self._sampler: StatsSampler | None = None
        self._focus: set[str] | None = None

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def stop(self) -> None:
        """Ask `run()` to return; closes the events stream so a blocked read wakes up. Thread-safe."""
        self._stopped.set()
        sampler = self._sampler
        if sampler is not None:
            sampler.stop()
        stream = self._stream
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.close()

    def focus(self, container_ids: set[str] | None) -> None:
        """The containers on screen (None: all): on the API path only they get a stats stream each, the rest
        a reading every few seconds (StatsSampler.focus). Thread-safe; kept across reconnections."""
        self._focus = None if container_ids is None else set(container_ids)
        sampler = self._sampler
        if sampler is not None:
            sampler.focus(self._focus)

    def run(self) -> None:
        """Connect, follow, reconnect; returns only after `stop()`."""
        ever_connected = False
        self._listener(EngineStatus("connecting"))
        while not self.stopped:
            try:
                engine = Engine.first_answering(self._candidates(), timeout=self.connect_timeout)
            except EngineUnavailable as exc:
                state: EngineState = "lost" if ever_connected else "unreachable"
                self._listener(
                    EngineStatus(state, attempts=exc.attempts, message=str(exc), retry_interval=self.retry_interval)
                )
                self._stopped.wait(self.retry_interval)
                continue
            ever_connected = True
            reason = "the events stream ended"
            try:
                self._follow(engine)
            except ENGINE_ERRORS as exc:
                reason = describe_error(exc)
            finally:
                self._stream = None
                if self._sampler is not None:
                    self._sampler.stop()
                    self._sampler = None
                engine.close()
            if not self.stopped:
                self._listener(
                    EngineStatus(
                        "lost",
                        info=engine.info,
                        message=f"engine lost at {engine.info.candidate.describe()}: {reason}; reconnecting",
                        retry_interval=self.retry_interval,
                    )
                )
                # A short pause so a dying daemon is not hammered; the next connect decides what to show.
                self._stopped.wait(min(0.5, self.retry_interval))

    def _follow(self, engine: Engine) -> None:
        # Open the stream before listing, so nothing that happens in between is missed.
        stream = engine.project_events(self.project)
        self._stream = stream
        if self.stopped:
            stream.close()
            return
        if self.stats_mode is not None:
            self._sampler = StatsSampler(engine, self._listener, mode=self.stats_mode, interval=self.stats_interval)
            self._sampler.focus(self._focus)
            threading.Thread(target=self._sampler.run, name="skid-stats-tick", daemon=True).start()
        self._reconcile(engine)
        self._listener(EngineStatus("connected", info=engine.info))
        for event in stream:
            if self.stopped:
                break
            self._apply_event(engine, event)

    def _reconcile(self, engine: Engine) -> None:
        self._containers = {c.id: c for c in read_project(engine, self.project)}
        added = [self._sample(c) for c in self._containers.values()]
        grouped = service_containers(self._containers.values(), self.project)
        for service in sorted(set(grouped) | set(self._emitted)):
            self._publish(service, grouped.get(service, ()), event=None, force=True)
        if self._sampler is not None and any(added):
            # Once for all of them, and after they were published: a sample of a container the listener
            # has not heard of yet would be dropped.
            self._sampler.kick()

    def _apply_event(self, engine: Engine, event: Mapping[str, Any]) -> None:
        if event.get("Type", "container") != "container":
            return
        action = event_action(event)
        cid, service = event_container(event)
        if not cid:
            return
        self._listener(EngineEvent(event))
        doc = None if action in GONE_ACTIONS else engine.inspect(cid)
        added = False
        if doc is None:
            old = self._containers.pop(cid, None)
            service = service or (old.service if old else "")
            if self._sampler is not None:
                self._sampler.untrack(cid)
        else:
            snap = snapshot_from_inspect(doc)
            self._containers[cid] = snap
            service = snap.service or service
            added = self._sample(snap)
        if service:
            grouped = service_containers(self._containers.values(), self.project)
            self._publish(service, grouped.get(service, ()), event=action)
        if added and self._sampler is not None:
            self._sampler.kick()  # after the publish, as in _reconcile

    def _sample(self, c: ContainerSnapshot) -> bool:
        """Sample a service container while it runs; stop when it does not. True when newly sampled (the
        caller kicks the sampler once the container is published)."""
        if self._sampler is None or c.oneoff or not c.service:
            return False
        if c.state in ("running", "paused") and c.pid > 0:
            if c.id not in self._sampler.tracked:
                self._sampler.track(c)
                return True
        else:
            self._sampler.untrack(c.id)
        return False

    def _publish(
        self, service: str, containers: tuple[ContainerSnapshot, ...], event: str | None, force: bool = False
    ) -> None:
        # An event that changed nothing visible (a healthcheck exec, a repeated kill) is not passed on,
        # except an oom, which matters even when the inspect looks the same.
        if not force and event != "oom" and self._emitted.get(service) == containers:
            return
        self._emitted[service] = containers
        self._listener(ServiceUpdate(service, containers, event=event))


class Relay:
    """A listener that holds updates until the real one is attached: the dashboard's watcher starts while
    Textual is still being imported, and what it learns meanwhile waits for the app, in order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: list[WatchUpdate] = []
        self._target: Listener | None = None

    def __call__(self, update: WatchUpdate) -> None:
        with self._lock:
            target = self._target
            if target is None:
                self._held.append(update)
                return
        target(update)

    def attach(self, target: Listener) -> None:
        with self._lock:  # held updates go first: none that comes meanwhile overtakes them
            for update in self._held:
                target(update)
            self._held.clear()
            self._target = target


class EarlyWatch:
    """A StackWatcher on its own thread from before the dashboard exists: the engine is found, the
    containers listed and their first readings taken while Textual loads (a third of a second, half of
    the time to the first paint), instead of after."""

    def __init__(self, project: str, candidates: Callable[[], list[EngineCandidate]], *,
                 stats: StatsMode | None = "auto", retry_interval: float = 3.0, stats_interval: float = 1.0) -> None:
        self.relay = Relay()
        self.watcher = StackWatcher(project, candidates, self.relay, stats=stats, retry_interval=retry_interval,
                                    stats_interval=stats_interval)
        self._error: Exception | None = None
        self._thread = threading.Thread(target=self._run, name="skid-watcher", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.watcher.run()
        except Exception as exc:  # handed to follow(): its worker fails with it, and the app says so
            self._error = exc

    def follow(self, listener: Listener) -> None:
        """Attach the listener (held updates first) and block until the watcher stops; raises what the
        watcher raised. For the dashboard's worker thread."""
        self.relay.attach(listener)
        self._thread.join()
        if self._error is not None:
            raise self._error
