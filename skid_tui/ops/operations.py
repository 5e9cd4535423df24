"""The operations skid carries out on a stack's services, and how each one runs: for both front ends.

An Operation is what the user asked for (start these services, stop them, restart them, remove one's
data); `run_operation` turns it into its one compose call and, for a data removal, the removal of exactly
the volumes the user was shown. It blocks: the command line calls it directly, the dashboard's
OperationQueue on a worker thread.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from skid_tui.engine.client import ENGINE_ERRORS, Engine, describe_error
from skid_tui.engine.containers import read_project, service_containers
from skid_tui.engine.discovery import EngineCandidate
from skid_tui.engine.volumes import Volume, remove_volumes
from skid_tui.ops.compose import ComposeResult, ComposeTarget, run, shown
from skid_tui.stack import Stack


class Kind(StrEnum):
    START = "start"
    STOP = "stop"
    RESTART = "restart"
    KILL = "kill"
    PAUSE = "pause"
    UNPAUSE = "unpause"
    RECREATE = "recreate"
    REMOVE_DATA = "remove-data"


_ids = itertools.count(1)

VERB = {Kind.START: "start", Kind.STOP: "stop", Kind.RESTART: "restart", Kind.KILL: "kill", Kind.PAUSE: "pause",
        Kind.UNPAUSE: "unpause", Kind.RECREATE: "recreate", Kind.REMOVE_DATA: "remove the data of"}
DOING = {Kind.START: "starting", Kind.STOP: "stopping", Kind.RESTART: "restarting", Kind.KILL: "killing",
         Kind.PAUSE: "pausing", Kind.UNPAUSE: "unpausing", Kind.RECREATE: "recreating",
         Kind.REMOVE_DATA: "removing data"}
QUEUED = {kind: f"{VERB[kind]} queued" for kind in Kind} | {Kind.REMOVE_DATA: "data removal queued"}
# What leaves the services running (or paused: still there, still holding their memory) once it is done.
LEAVES_RUNNING = frozenset({Kind.START, Kind.RESTART, Kind.PAUSE, Kind.UNPAUSE, Kind.RECREATE})


@dataclass(frozen=True)
class Operation:
    kind: Kind
    services: tuple[str, ...]
    reason: str = ""  # "toggled", "idle for 10m", "profile app": said with it
    volumes: tuple[Volume, ...] = ()  # a data removal: exactly the volumes the user was shown, removed after
    frees: int = 0  # memory it is expected to release (an idle stop), said when it is done
    id: int = field(default_factory=lambda: next(_ids))

    def describe(self) -> str:
        tail = f" ({self.reason})" if self.reason else ""
        return f"{VERB[self.kind]} {', '.join(self.services)}{tail}"

    @property
    def starts(self) -> bool:
        """Whether the services run once it is done (a restart leaves them running, a kill does not)."""
        return self.kind in LEAVES_RUNNING


def compose_args(kind: Kind, services: Sequence[str], no_recreate: bool = False) -> tuple[str, ...]:
    """The compose command line of an operation (never one that deletes a volume); `no_recreate` on Podman
    (ops.compose says why)."""
    if kind == Kind.START:
        return ("up", "-d", *(("--no-recreate",) if no_recreate else ()), *services)
    if kind == Kind.RECREATE:
        # New containers for these services only: `--no-deps` leaves the database an API depends on alone.
        # Volumes, named and anonymous, are kept (never -V or -v).
        return ("up", "-d", "--force-recreate", "--no-deps", *services)
    if kind in (Kind.STOP, Kind.RESTART, Kind.KILL, Kind.PAUSE, Kind.UNPAUSE):
        return (kind.value, *services)
    # The container only, never `-v`: the volumes the user was shown are removed afterwards, by name.
    return ("rm", "--stop", "--force", *services)


@dataclass(frozen=True)
class OperationResult:
    op: Operation
    compose: ComposeResult | None  # None: it never ran (no compose tool)
    seconds: float
    error: str = ""  # one line; "" when it succeeded
    note: str = ""  # what else happened: the volumes removed or kept

    @property
    def ok(self) -> bool:
        return not self.error

    @property
    def stopped(self) -> bool:
        """skid ended its compose command (its deadline, or a cancel)."""
        return self.compose is not None and bool(self.compose.stopped)

    @property
    def status(self) -> int:
        return self.compose.status if self.compose is not None else 127


@dataclass
class Progress:
    """What a running operation reports, from the thread it runs on, and how it is cancelled."""

    started: Callable[[str], None] = lambda _: None  # the exact command, as the user could paste it
    line: Callable[[str], None] = lambda _: None  # each line of compose's output
    cancel: threading.Event = field(default_factory=threading.Event)


TRANSITION_RETRY_DELAY = 1.0
TRANSITION_RETRY_WHY = "the engine refused while the container was still changing state"


def in_transition(lines: Sequence[str]) -> bool:
    """Podman's answer to a start or stop of a container that is still stopping or starting."""
    return any("container state improper" in line for line in lines)


def run_operation(op: Operation, target: ComposeTarget, candidates: Callable[[], list[EngineCandidate]],
                  progress: Progress | None = None) -> OperationResult:
    """Run it to its end (blocking). A data removal deletes its listed volumes only once compose removed the
    container; a failed or stopped removal keeps every one of them."""
    progress = progress or Progress()
    call = target.call(*compose_args(op.kind, op.services, target.no_recreate), services=op.services)
    progress.started(shown(call))
    result = run(call, progress.line, progress.cancel)
    if not result.ok and not result.stopped and in_transition(result.lines):
        # Podman refuses to start (or stop) a container another client is still stopping (or starting), where
        # Docker waits for it; compose does not wait either. A moment later the same call succeeds.
        progress.line(f"skid: {TRANSITION_RETRY_WHY}: trying again in {TRANSITION_RETRY_DELAY:g} s")
        if not progress.cancel.wait(TRANSITION_RETRY_DELAY):
            progress.started(shown(call))
            retried = run(call, progress.line, progress.cancel)
            result = replace(retried, lines=result.lines + retried.lines, seconds=result.seconds + retried.seconds)
    note = ""
    if op.kind == Kind.REMOVE_DATA:
        note = remove_listed(op.volumes, candidates) if result.ok else "volumes kept"
    if op.kind == Kind.UNPAUSE and result.ok:
        error = unpause_left(target.stack, op.services, candidates, progress)
        if error:
            return OperationResult(op, result, result.seconds, error)
    return OperationResult(op, result, result.seconds, result.error, note)


def unpause_left(stack: Stack, services: Sequence[str], candidates: Callable[[], list[EngineCandidate]],
                 progress: Progress) -> str:
    """Containers compose's unpause left paused, unpaused through the Engine API; "" or one line of error.

    docker-compose lists the containers to unpause without `all`, and Podman's answer to that leaves paused
    containers out: on Podman `compose unpause` succeeds and unpauses nothing."""
    try:
        engine = Engine.first_answering(candidates())
    except ENGINE_ERRORS as exc:
        return f"cannot check that they run again: no engine ({describe_error(exc)})"
    try:
        grouped = service_containers(read_project(engine, stack.project), stack.project)
        for service in services:
            for c in grouped.get(service, ()):
                if c.state == "paused":
                    progress.line(f"skid: {c.name} is still paused (compose's unpause does not see paused "
                                  "containers on Podman): unpausing it through the engine's API")
                    engine.unpause(c.id)
    except ENGINE_ERRORS as exc:
        return f"the engine failed to unpause: {describe_error(exc)}"
    finally:
        engine.close()
    return ""


def remove_listed(volumes: Sequence[Volume], candidates: Callable[[], list[EngineCandidate]]) -> str:
    """Remove exactly these volumes, by name; one line saying what happened to them."""
    if not volumes:
        return "no volume to remove"
    try:
        engine = Engine.first_answering(candidates())
    except ENGINE_ERRORS as exc:
        return f"volumes kept: no engine ({describe_error(exc)})"
    try:
        return remove_volumes(engine, volumes).summary()
    except ENGINE_ERRORS as exc:
        return f"volumes kept: the engine failed ({describe_error(exc)})"
    finally:
        engine.close()
