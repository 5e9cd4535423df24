"""What happened to a compose project's containers: the engine's events as a timeline, in words.

The dashboard shows how the stack is *now*; a crash loop at 3 a.m. has usually settled (or given up) by
9. The engine remembers its events, so the dashboard reads the past hour (`past_events`, blocking: a
worker thread), then feeds the live stream into the same `Timeline`, which drops the overlap. Each event
says what it means ("api died (exit 137, OOM-killed)"), and the timeline counts restarts and names the
services that are crash-looping.

Both engines' shapes are read: Docker says "health_status: unhealthy", Podman "health_status" with the
status in an attribute (or, from Podman 5, a top-level HealthStatus); Podman's "died" and "remove" are
Docker's "die" and "destroy". Pure functions and plain data, tested without an engine.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from skid_tui.engine.client import ENGINE_ERRORS, PROJECT_LABEL, SERVICE_LABEL, WATCHED_EVENTS, Engine, describe_error
from skid_tui.engine.discovery import EngineCandidate

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NANO = 1_000_000_000
OOM_WINDOW = 2 * NANO  # an oom event this close to a die with 137 (same container) is why it died
CRASH_WINDOW = timedelta(minutes=5)
CRASH_RESTARTS = 3  # restarts within CRASH_WINDOW that make a crash loop
TIMELINE_SIZE = 2000

# Podman's names for Docker's actions (the compat API already says "die" for "died"; the libpod one does not).
ACTION_ALIASES = {"died": "die", "remove": "destroy"}
# The actions a timeline keeps. The rest is bookkeeping (Podman's init/cleanup around every start and exit)
# or noise (exec_* from every healthcheck run, attach, resize, top, archive copies).
TIMELINE_ACTIONS = frozenset(
    {
        "create",
        "start",
        "restart",
        "stop",
        "die",
        "kill",
        "oom",
        "pause",
        "unpause",
        "destroy",
        "rename",
        "update",
        "health_status",
    }
)
USER_STOPS = frozenset({"stop", "kill"})  # asked for by someone: the die that follows is not a crash

# Linux numbers (the engine runs Linux, whatever the client's own signal module says).
SIGNALS = {
    1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE",
    9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM",
    17: "SIGCHLD", 18: "SIGCONT", 19: "SIGSTOP", 20: "SIGTSTP", 24: "SIGXCPU", 25: "SIGXFSZ", 28: "SIGWINCH",
    31: "SIGSYS",
}  # fmt: skip
# What an exit by these signals usually means, said before the signal's name.
SIGNAL_MEANING = {"SIGKILL": "killed", "SIGSEGV": "segfault", "SIGABRT": "aborted", "SIGBUS": "bus error"}


@dataclass(frozen=True)
class ProjectEvent:
    """One engine event about one container of the project."""

    at: datetime  # UTC
    service: str
    container: str  # the container's name, e.g. demo-api-1
    action: str  # normalised: die, start, stop, kill, oom, restart, pause, unpause, create, destroy, health_status...
    exit_code: int | None = None  # die only
    health: str | None = None  # health_status only: healthy, unhealthy, starting
    signal: str | None = None  # kill: the signal sent; die: the signal an exit code above 128 stands for
    oom: bool = False  # die only: an oom event of the same container came with it (set by Timeline, `describe`)
    container_id: str = ""
    nano: int = 0  # the engine's timeNano, the event's identity with container and action; 0: taken from `at`

    def __post_init__(self) -> None:
        if not self.nano:  # built by hand (tests, callers): the same order and identity as an engine's event
            object.__setattr__(self, "nano", _nanos(self.at))

    @property
    def key(self) -> tuple[int, str, str]:
        """What makes two events the same one (the past hour and the live stream overlap)."""
        return (self.nano, self.container_id or self.container, self.action)

    def describe(self, *, recovered: bool = False) -> str:
        """The event in words. `recovered`: a healthy event after an unhealthy one ("healthy again")."""
        who = self.service
        match self.action:
            case "start":
                return f"{who} started"
            case "die":
                return _describe_die(self)
            case "kill":
                if self.signal in (None, "SIGKILL"):
                    return f"{who} was killed" + (" (SIGKILL)" if self.signal else "")
                return f"{who} was sent {self.signal}"  # SIGTERM from a stop, SIGHUP for a reload...
            case "oom":
                return f"{who} ran out of memory (OOM)"
            case "health_status":
                if self.health == "healthy":
                    return f"{who} is healthy again" if recovered else f"{who} is healthy"
                if self.health == "unhealthy":
                    return f"{who} is unhealthy"
                if self.health == "starting":
                    return f"{who} is starting (health check pending)"
                return f"{who} health: {self.health or 'unknown'}"
            case "restart":
                return f"{who} restarted"
            case "pause":
                return f"{who} paused"
            case "unpause":
                return f"{who} unpaused"
            case "stop":
                return f"{who} stopped"
            case "create":
                return f"{who} was created"
            case "destroy":
                return f"{who} was removed"
            case "rename":
                return f"{who} was renamed"
            case "update":
                return f"{who} was updated"
        return f"{who} {self.action}"


def _describe_die(e: ProjectEvent) -> str:
    code = e.exit_code
    if code is None:
        return f"{e.service} died"
    if code == 0:
        return f"{e.service} exited (exit 0)"
    if e.oom and code == 137:
        return f"{e.service} died (exit 137, OOM-killed)"
    if e.signal:
        meaning = SIGNAL_MEANING.get(e.signal)
        return f"{e.service} died (exit {code}: {meaning + ', ' if meaning else ''}{e.signal})"
    return f"{e.service} died (exit {code})"


def _nanos(at: datetime) -> int:
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return (at - EPOCH) // timedelta(microseconds=1) * 1000


def _from_nanos(nano: int) -> datetime:
    # Integer arithmetic: a float of nanoseconds since 1970 loses the microseconds.
    return EPOCH + timedelta(seconds=nano // NANO, microseconds=(nano % NANO) // 1000)


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def signal_name(value: Any) -> str | None:
    """A signal by name: "9", 9, "KILL", "sigkill" -> "SIGKILL"; None when there is none."""
    if value is None or str(value).strip() == "":
        return None
    number = _int(value)
    if number is not None:
        return SIGNALS.get(number, f"signal {number}")
    name = str(value).strip().upper()
    return name if name.startswith("SIG") else f"SIG{name}"


def event_from_doc(doc: Mapping[str, Any]) -> ProjectEvent | None:
    """A timeline event from an engine's event JSON (Docker or Podman compat API); None for events of other
    types, of containers without a compose service label, without a time, or with an action the timeline
    does not keep (exec_* from healthchecks, Podman's init/cleanup, attach...)."""
    if str(doc.get("Type") or "container") != "container":
        return None
    actor = doc.get("Actor") or {}
    attrs = actor.get("Attributes") or {}
    service = str(attrs.get(SERVICE_LABEL) or "")
    if not service:
        return None
    raw_action = str(doc.get("Action") or doc.get("status") or "")
    action, _, detail = raw_action.partition(":")
    action = action.strip()
    action = ACTION_ALIASES.get(action, action)
    if action not in TIMELINE_ACTIONS:
        return None
    nano = _int(doc.get("timeNano"))
    if not nano:
        try:
            nano = round(float(doc.get("time") or 0) * NANO)
        except (TypeError, ValueError):
            nano = 0
        if nano <= 0:
            return None
    exit_code = health = signal = None
    if action == "die":
        exit_code = _int(attrs.get("exitCode", attrs.get("containerExitCode")))
        if exit_code is not None and 128 < exit_code < 128 + 32:
            signal = SIGNALS.get(exit_code - 128)  # by convention, 128 + the signal that ended it
    elif action == "kill":
        signal = signal_name(attrs.get("signal"))
    elif action == "health_status":
        # Docker: in the action; Podman 4: an attribute; Podman 5: a top-level field.
        found = detail.strip() or attrs.get("health_status") or doc.get("HealthStatus") or ""
        health = str(found).strip().lower() or None
    return ProjectEvent(
        at=_from_nanos(nano),
        service=service,
        container=str(attrs.get("name") or "").lstrip("/"),
        action=action,
        exit_code=exit_code,
        health=health,
        signal=signal,
        container_id=str(actor.get("ID") or doc.get("id") or ""),
        nano=nano,
    )


def _who(e: ProjectEvent) -> str:
    return e.container_id or e.container


def _oom_explains(oom: ProjectEvent, die: ProjectEvent) -> bool:
    """The oom event is why this die happened: same container, exit 137, at most OOM_WINDOW apart. Either
    order: Docker sends the oom first, but the two come from different containerd events."""
    return (
        oom.action == "oom"
        and die.action == "die"
        and die.exit_code == 137
        and _who(oom) == _who(die)
        and abs(die.nano - oom.nano) <= OOM_WINDOW
    )


def describe(events: Sequence[ProjectEvent]) -> list[str]:
    """Each event in words, in the order given, with what only neighbours tell: a die with 137 next to an
    oom is "OOM-killed", a healthy after an unhealthy (same container) is "healthy again"."""
    order = sorted(range(len(events)), key=lambda i: events[i].nano)
    ooms: dict[str, list[ProjectEvent]] = {}
    for e in events:
        if e.action == "oom":
            ooms.setdefault(_who(e), []).append(e)
    last_health: dict[str, str | None] = {}
    words: list[str] = [""] * len(events)
    for i in order:
        e = events[i]
        if e.action == "die" and not e.oom and any(_oom_explains(o, e) for o in ooms.get(_who(e), ())):
            e = replace(e, oom=True)
        recovered = False
        if e.action == "health_status":
            recovered = e.health == "healthy" and last_health.get(_who(e)) == "unhealthy"
            last_health[_who(e)] = e.health
        words[i] = e.describe(recovered=recovered)
    return words


@dataclass(frozen=True)
class Restart:
    """A container started again after it stopped: when, and whether someone asked for the stop."""

    at: datetime
    service: str
    container: str
    asked: bool  # a stop or kill came before: `docker compose restart`, stop then start; not a crash


def restarts_of(events: Iterable[ProjectEvent]) -> list[Restart]:
    """The restarts in these events, oldest first.

    Per container, in time order: a start after a die (or after another start: a die was missed) is a
    restart; so is a "restart" action. Docker's `docker restart` sends kill, die, stop, start, restart for
    one restart: a start and a restart next to each other count once. The container's first start in the
    events (with no die before it) is its creation, not a restart."""
    found: list[Restart] = []
    previous: dict[str, tuple[str, bool]] = {}  # container -> its last start, restart or die; counted?
    asked: dict[str, bool] = {}  # container -> a stop or kill since its last start
    for e in sorted(events, key=lambda e: e.nano):
        who = _who(e)
        if e.action in USER_STOPS:
            asked[who] = True
        elif e.action == "die":
            previous[who] = ("die", False)
        elif e.action in ("start", "restart"):
            before, before_counted = previous.get(who, (None, False))
            if before in ("start", "restart") and before != e.action:
                counted = not before_counted  # the other half of one restart: count the pair once
            else:
                counted = before is not None or e.action == "restart"
            if counted:
                found.append(Restart(e.at, e.service, e.container, asked.get(who, False)))
            previous[who] = (e.action, counted)
            asked[who] = False
    return found


class Timeline:
    """A project's events in time order, at most `maxlen` (the oldest go first), each kept once.

    The dashboard adds the past hour and then the live stream, which overlap: an event already held (same
    timeNano, container and action) is not added again. A health event that repeats the container's last
    status (Podman sends one per check) is dropped too. Thread-safe: the past hour arrives from a worker."""

    def __init__(self, maxlen: int = TIMELINE_SIZE) -> None:
        self.maxlen = max(1, maxlen)
        self._events: list[ProjectEvent] = []  # sorted by nano; equal nanos in the order added
        self._keys: set[tuple[int, str, str]] = set()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._events)

    def add(self, event: ProjectEvent) -> bool:
        """Keep the event; False when it was a duplicate, a repeated health status, or older than all of a
        full timeline."""
        with self._lock:
            if event.key in self._keys:
                return False
            at = bisect.bisect_right(self._events, event.nano, key=lambda e: e.nano)
            if event.action == "health_status" and self._same_health(event, at):
                return False
            if event.action == "die" and event.exit_code == 137 and not event.oom:
                if any(_oom_explains(self._events[i], event) for i in self._near(event, "oom")):
                    event = replace(event, oom=True)
            elif event.action == "oom":
                for i in self._near(event, "die"):
                    if not self._events[i].oom and _oom_explains(event, self._events[i]):
                        self._events[i] = replace(self._events[i], oom=True)
            self._events.insert(at, event)
            self._keys.add(event.key)
            while len(self._events) > self.maxlen:
                self._keys.discard(self._events.pop(0).key)
            return event.key in self._keys

    def extend(self, events: Iterable[ProjectEvent]) -> int:
        """Add each; how many were kept."""
        return sum(self.add(e) for e in events)

    def events(self, newest_first: bool = True) -> list[ProjectEvent]:
        with self._lock:
            held = list(self._events)
        return held[::-1] if newest_first else held

    def restarts(self, service: str) -> int:
        """How many times the service's containers started again (after a die, or by a restart action)."""
        return sum(1 for r in restarts_of(self.events(newest_first=False)) if r.service == service)

    def crash_looping(self, now: datetime) -> set[str]:
        """Services whose containers restarted CRASH_RESTARTS times or more within CRASH_WINDOW before `now`,
        not counting restarts after a stop or kill someone asked for."""
        now = now if now.tzinfo else now.replace(tzinfo=UTC)
        counts: dict[str, int] = {}
        for r in restarts_of(self.events(newest_first=False)):
            if not r.asked and now - CRASH_WINDOW <= r.at <= now:
                counts[r.service] = counts.get(r.service, 0) + 1
        return {service for service, n in counts.items() if n >= CRASH_RESTARTS}

    def _same_container_before(self, event: ProjectEvent, at: int) -> Iterable[ProjectEvent]:
        who = _who(event)
        for i in range(at - 1, -1, -1):
            if _who(self._events[i]) == who:
                yield self._events[i]

    def _same_health(self, event: ProjectEvent, at: int) -> bool:
        for e in self._same_container_before(event, at):
            if e.action == "health_status":
                return e.health == event.health
            if e.action in ("start", "die", "restart"):
                return False  # a new run: its first status is news even when it is the old one
        return False

    def _near(self, event: ProjectEvent, action: str) -> list[int]:
        """Indexes of the container's `action` events within OOM_WINDOW of this one."""
        lo = bisect.bisect_left(self._events, event.nano - OOM_WINDOW, key=lambda e: e.nano)
        hi = bisect.bisect_right(self._events, event.nano + OOM_WINDOW, key=lambda e: e.nano)
        who = _who(event)
        return [i for i in range(lo, hi) if self._events[i].action == action and _who(self._events[i]) == who]


def _timestamp(at: datetime, *, up: bool) -> int:
    # Whole seconds, as docker-py sends them: rounded outwards so the range holds all it was asked for.
    seconds = _nanos(at) / NANO
    return math.ceil(seconds) if up else math.floor(seconds)


def past_events(engine: Engine, project: str, since: datetime, until: datetime) -> list[ProjectEvent]:
    """The project's container events the engine remembers between `since` and `until` (naive: UTC), oldest
    first. Blocking (a worker thread): with `until` given the engine ends the stream by itself, once it has
    sent what it has, or at `until` when that is still to come."""
    filters = {
        "type": ["container"],
        "label": [f"{PROJECT_LABEL}={project}"],
        # The actions the watcher follows: without this a healthcheck's exec_create/start/die, every few
        # seconds per container, would be most of the hour.
        "event": list(WATCHED_EVENTS),
    }
    stream = engine.api.events(
        since=_timestamp(since, up=False), until=_timestamp(until, up=True), filters=filters, decode=True
    )
    found: list[ProjectEvent] = []
    try:
        for doc in stream:
            event = event_from_doc(doc)
            if event is not None:
                found.append(event)
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    found.sort(key=lambda e: e.nano)
    return found


PAST = timedelta(hours=1)  # what the timeline reads from the engine when it opens: the last hour
UNTIL_AHEAD = timedelta(seconds=2)


def recent_events(candidates: Callable[[], list[EngineCandidate]], project: str, now: datetime,
                  past: timedelta = PAST) -> tuple[list[ProjectEvent], str]:
    """The last hour's events from whichever engine answers (blocking), and "" or one line saying why none."""
    try:
        engine = Engine.first_answering(candidates())
    except ENGINE_ERRORS as exc:
        return [], f"no engine: {describe_error(exc)}"
    try:
        # `until` a little ahead: Podman 4.3 answers an `until` that has passed by the time it reads it with
        # nothing at all. The engine ends the stream at `until`; the few live events both give are the same
        # event twice, which the timeline keeps once.
        return past_events(engine, project, now - past, now + UNTIL_AHEAD), ""
    except ENGINE_ERRORS as exc:
        return [], f"the engine's past events could not be read: {describe_error(exc)}"
    finally:
        engine.close()
