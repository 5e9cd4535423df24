"""`u` and `skid update SERVICE --memory 768m [--reservation 384m] [--cpus 1]`: a running service's limits
changed in place, on every container of it (replicas too), and the compose override that would keep them.

What runs is changed, not the compose files: the next `compose up` (or `skid recreate`) creates containers
with the files' limits again. `override_yaml` writes the change as a file compose loads after the others.
Blocking (the engine calls): a worker thread, or the command line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from skid_tui.engine.client import ENGINE_ERRORS, Engine, describe_error
from skid_tui.engine.containers import read_project, service_containers
from skid_tui.engine.update import (
    MIN_CPUS,
    MIN_MEMORY,
    ContainerLimits,
    UpdateFailed,
    UpdateUnsupported,
    read_limits,
    update_limits,
)
from skid_tui.ops.config import UsageError
from skid_tui.stack import Stack, format_bytes, parse_cpus, parse_size
from skid_tui.stack.sizes import CPUS_EXPECTED, GIB, KIB, MIB, SIZE_EXPECTED, format_cpus
from skid_tui.stack.yamlloc import load_tree

NOTE = ("the next `compose up` (or skid recreate) resets these; write them to an override file to keep them: "
        "skid rightsize --write FILE or add deploy.resources to your compose file")
DEPLOY = frozenset({"deploy"})


class InvalidRequest(UsageError):
    """Bad input, said in one line before anything changes (exit status 2; shown in place on the screen)."""


class UpdateError(Exception):
    """Why the limits were not (all) changed, in one line; `done` holds the containers changed before it."""

    def __init__(self, message: str, done: Sequence[ContainerChange] = ()) -> None:
        super().__init__(message)
        self.done = tuple(done)


@dataclass(frozen=True)
class UpdateRequest:
    """New limits for a service; None leaves that one as it is."""

    service: str
    memory: int | None = None  # bytes: the limit (the budget's maximum)
    reservation: int | None = None  # bytes: the soft limit (the budget's standard)
    cpus: float | None = None

    @classmethod
    def parse(cls, service: str, memory: str | None = None, reservation: str | None = None,
              cpus: str | None = None) -> UpdateRequest:
        """From what the user typed (None or blank: unchanged); InvalidRequest says what is wrong."""
        request = cls(service, _size("memory", memory), _size("reservation", reservation), _cpus(cpus))
        request.check()
        return request

    def check(self) -> None:
        """InvalidRequest when the values cannot go together or an engine would refuse them anyway."""
        if self.memory is None and self.reservation is None and self.cpus is None:
            raise InvalidRequest("nothing to change: give a memory limit, a reservation or a CPU count")
        for what, value in (("memory", self.memory), ("reservation", self.reservation)):
            if value is not None and value < MIN_MEMORY:
                raise InvalidRequest(f"{what} {format_bytes(value)} is below {format_bytes(MIN_MEMORY)}, the least "
                                     "an engine accepts (a running container's limit can be changed, not removed)")
        if self.cpus is not None and self.cpus < MIN_CPUS:
            raise InvalidRequest(f"cpus {format_cpus(self.cpus)} is below {MIN_CPUS:g}, the least an engine accepts")
        if self.memory is not None and self.reservation is not None and self.reservation > self.memory:
            raise InvalidRequest(f"reservation {format_bytes(self.reservation)} is above the memory limit "
                                 f"{format_bytes(self.memory)}: the reservation is the standard, at most the limit")


def _size(what: str, text: str | None) -> int | None:
    if text is None or not text.strip():
        return None
    try:
        return parse_size(text.strip())
    except ValueError:
        raise InvalidRequest(f"malformed {what} '{text.strip()}': {SIZE_EXPECTED}") from None


def _cpus(text: str | None) -> float | None:
    if text is None or not text.strip():
        return None
    try:
        return parse_cpus(text.strip())
    except ValueError:
        raise InvalidRequest(f"malformed cpus '{text.strip()}': {CPUS_EXPECTED}") from None


@dataclass(frozen=True)
class ContainerChange:
    """One container's limits before and after, as the engine reports them (inspect)."""

    id: str  # short
    name: str
    before: ContainerLimits
    after: ContainerLimits


@dataclass(frozen=True)
class UpdateResult:
    service: str
    changes: tuple[ContainerChange, ...]
    note: str = NOTE

    @property
    def containers(self) -> tuple[str, ...]:
        """Short ids of the containers updated."""
        return tuple(c.id for c in self.changes)


def check_against(request: UpdateRequest, name: str, current: ContainerLimits) -> None:
    """InvalidRequest unless the reservation stays at most the limit, whichever of them changes (Docker itself
    accepts a reservation above the limit on an update, which the budget would then show upside down)."""
    memory = request.memory if request.memory is not None else current.memory
    reservation = request.reservation if request.reservation is not None else current.reservation
    if memory and reservation > memory:
        if request.reservation is None:
            raise InvalidRequest(f"memory {format_bytes(memory)} is below {name}'s reservation "
                                 f"{format_bytes(reservation)}: lower the reservation too")
        raise InvalidRequest(f"reservation {format_bytes(reservation)} is above {name}'s memory limit "
                             f"{format_bytes(memory)}: raise the limit too")


def apply(engine: Engine, stack: Stack, request: UpdateRequest) -> UpdateResult:
    """Change the limits of every running container of the service, then read them back.

    InvalidRequest: bad input (nothing changed). UpdateError: not running, the engine refused or failed (its
    `done`: the containers already changed)."""
    if request.service not in stack.services:
        raise InvalidRequest(f"unknown service '{request.service}' (expected one of: {', '.join(stack.services)})")
    request.check()
    try:
        grouped = service_containers(read_project(engine, stack.project), stack.project)
        running = [c for c in grouped.get(request.service, ()) if c.is_running]
        if not running:
            raise UpdateError(f"{request.service} is not running: start it first, its limits come from the "
                              "compose file")
        before = {c.id: read_limits(engine, c.id) for c in running}
    except UpdateFailed as exc:  # a container removed in between
        raise UpdateError(f"{request.service}: {exc}") from None
    except ENGINE_ERRORS as exc:
        raise UpdateError(f"the engine failed: {describe_error(exc)}") from None
    for c in running:  # every replica is checked before the first is changed
        check_against(request, c.name, before[c.id])
    done: list[ContainerChange] = []
    for c in running:
        try:
            update_limits(engine, c.id, request.memory, request.reservation, request.cpus, current=before[c.id])
            after = read_limits(engine, c.id)
        except UpdateUnsupported as exc:
            raise UpdateError(str(exc), done) from None
        except UpdateFailed as exc:
            raise UpdateError(f"{c.name} ({c.short_id}): {exc}", done) from None
        except ENGINE_ERRORS as exc:
            raise UpdateError(f"the engine failed on {c.name}: {describe_error(exc)}", done) from None
        done.append(ContainerChange(c.short_id, c.name, before[c.id], after))
    return UpdateResult(request.service, tuple(done))


# -- keeping them: a compose override file ----------------------------------------------------------------


def compose_size(n: int) -> str | int:
    """A size as compose writes it: `768M`, `2G`, `1536K`; plain bytes when no unit divides it."""
    for unit, size in (("G", GIB), ("M", MIB), ("K", KIB)):
        if n % size == 0:
            return f"{n // size}{unit}"
    return n


@dataclass(frozen=True)
class Spelling:
    """How a service's compose files write its limits: "deploy" (`deploy.resources`), "legacy" (`mem_limit`,
    `cpus`; `mem_reservation`), or both, for the limits and for the reservation."""

    limits: frozenset[str] = DEPLOY
    reservation: frozenset[str] = DEPLOY


def compose_spelling(files: Iterable[Path | str], services: Iterable[str]) -> dict[str, Spelling]:
    """Each service's spelling in these compose files (a service that sets nothing gets `deploy.resources`).

    Compose v2 refuses a service whose two spellings differ ("can't set distinct values on 'cpus' and
    'deploy.resources.limits.cpus'", an unset one counting as 0), so an override must write what the files
    write. A file that cannot be read is skipped: loading the stack has said so already."""
    names = list(services)
    found: dict[str, tuple[set[str], set[str]]] = {name: (set(), set()) for name in names}
    for path in files:
        tree, _ = load_tree(path, kind="compose file")
        defined = tree.get("services") if tree is not None else None
        for name in names:
            node = defined.get(name) if defined is not None else None
            if node is None:
                continue
            limits, reservation = found[name]
            if node.get("mem_limit") is not None or node.get("cpus") is not None:
                limits.add("legacy")
            if node.get("mem_reservation") is not None:
                reservation.add("legacy")
            deploy = node.get("deploy")
            resources = deploy.get("resources") if deploy is not None else None
            if resources is not None and resources.get("limits") is not None:
                limits.add("deploy")
            if resources is not None and resources.get("reservations") is not None:
                reservation.add("deploy")
    spelled = {}
    for name, (limits, reservation) in found.items():
        # A group the files leave unset follows the other one: a file written with mem_limit gets mem_reservation.
        spelled[name] = Spelling(frozenset(limits or reservation or DEPLOY),
                                 frozenset(reservation or limits or DEPLOY))
    return spelled


def override_yaml(requests: Sequence[UpdateRequest], spelling: Mapping[str, Spelling] | None = None) -> str:
    """A compose override document that sets only these limits, as `deploy.resources` unless `spelling`
    (see compose_spelling) says the files use the legacy keys. A later request for a service wins."""
    merged: dict[str, UpdateRequest] = {}
    for r in requests:
        old = merged.get(r.service)
        merged[r.service] = r if old is None else UpdateRequest(
            r.service,
            r.memory if r.memory is not None else old.memory,
            r.reservation if r.reservation is not None else old.reservation,
            r.cpus if r.cpus is not None else old.cpus,
        )
    services: dict[str, object] = {}
    for name, r in merged.items():
        entry = _entry(r, (spelling or {}).get(name, Spelling()))
        if entry:
            services[name] = entry
    return yaml.safe_dump({"services": services}, sort_keys=False, default_flow_style=False)


def _entry(r: UpdateRequest, spelling: Spelling) -> dict[str, object]:
    entry: dict[str, object] = {}
    # cpus as a string: compose reads "0.5" exactly, and format_cpus writes no float noise.
    if "legacy" in spelling.limits:
        if r.memory is not None:
            entry["mem_limit"] = compose_size(r.memory)
        if r.cpus is not None:
            entry["cpus"] = format_cpus(r.cpus)
    if "legacy" in spelling.reservation and r.reservation is not None:
        entry["mem_reservation"] = compose_size(r.reservation)
    limits: dict[str, object] = {}
    if "deploy" in spelling.limits:
        if r.memory is not None:
            limits["memory"] = compose_size(r.memory)
        if r.cpus is not None:
            limits["cpus"] = format_cpus(r.cpus)
    resources: dict[str, object] = {}
    if limits:
        resources["limits"] = limits
    if "deploy" in spelling.reservation and r.reservation is not None:
        resources["reservations"] = {"memory": compose_size(r.reservation)}
    if resources:
        entry["deploy"] = {"resources": resources}
    return entry
