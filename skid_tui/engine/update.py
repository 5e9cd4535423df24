"""A running container's limits changed in place through the Engine API (`POST /containers/{id}/update`), as
`docker update --memory --memory-reservation --cpus` does: no restart, the cgroup changes at once.

Blocking: a worker thread, or the command line. The engine answers for itself: a limit below what the
container uses is refused by the kernel, a CPU count above the host's by Docker; that answer becomes one line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import docker.errors

from skid_tui.engine import dockerapi
from skid_tui.engine.client import Engine
from skid_tui.stack import format_bytes

MIN_MEMORY = 6 * 1024**2  # Docker's least limit and reservation ("Minimum memory limit allowed is 6MB")
MIN_CPUS = 0.01  # Docker's least CPU count ("Range of CPUs is from 0.01 to ...")
CFS_PERIOD = 100_000  # microseconds: Docker's default CFS period, for a container limited by a quota
NANO = 1_000_000_000


class UpdateFailed(Exception):
    """One line: why the engine did not change the limits (its own reason, or that it cannot)."""


class UpdateUnsupported(UpdateFailed):
    """The engine has no container update at all: nothing about one container in particular."""


@dataclass(frozen=True)
class ContainerLimits:
    """A container's limits as its inspect document holds them (HostConfig)."""

    memory: int = 0  # bytes; 0: no limit
    reservation: int = 0  # bytes; 0: none
    swap: int = 0  # MemorySwap, memory plus swap: -1 unlimited swap, 0 never set
    nano_cpus: int = 0  # compose's `cpus` (and `docker run --cpus`) set this
    cpu_quota: int = 0  # a CFS quota (compose's `cpu_quota`), in microseconds per period
    cpu_period: int = 0

    @property
    def cpus(self) -> float:
        """The CPU limit in cores; 0.0 when there is none."""
        if self.nano_cpus:
            return self.nano_cpus / NANO
        if self.cpu_quota > 0:
            return self.cpu_quota / (self.cpu_period or CFS_PERIOD)
        return 0.0


def limits_from_inspect(doc: Mapping[str, Any]) -> ContainerLimits:
    host = doc.get("HostConfig") or {}
    return ContainerLimits(
        memory=int(host.get("Memory") or 0),
        reservation=int(host.get("MemoryReservation") or 0),
        swap=int(host.get("MemorySwap") or 0),
        nano_cpus=int(host.get("NanoCpus") or 0),
        cpu_quota=int(host.get("CpuQuota") or 0),
        cpu_period=int(host.get("CpuPeriod") or 0),
    )


def memory_swap(memory: int, current: ContainerLimits) -> int:
    """The MemorySwap to send with a new memory limit.

    Docker refuses a memory limit above the MemorySwap already set unless both change together, so it is
    always sent, keeping the container's kind of swap allowance: unlimited stays unlimited (-1), none (swap
    equal to memory) stays none, anything else becomes Docker's default of as much swap as memory.
    """
    if current.swap == -1:
        return -1
    if current.swap > 0 and current.swap == current.memory:
        return memory
    return 2 * memory


def update_body(current: ContainerLimits, memory: int | None, reservation: int | None,
                cpus: float | None) -> dict[str, int]:
    """The update request's body: only what changes (an absent key is left as it is)."""
    body: dict[str, int] = {}
    if memory is not None:
        body["Memory"] = memory
        body["MemorySwap"] = memory_swap(memory, current)
    if reservation is not None:
        body["MemoryReservation"] = reservation
    if cpus is not None:
        if current.cpu_quota > 0 and not current.nano_cpus:
            # Docker will not set NanoCpus beside a CFS quota (nor a quota beside NanoCpus): keep the kind.
            period = current.cpu_period or CFS_PERIOD
            body["CpuPeriod"] = period
            body["CpuQuota"] = round(cpus * period)
        else:
            body["NanoCpus"] = round(cpus * NANO)
    return body


def read_limits(engine: Engine, container_id: str) -> ContainerLimits:
    """The container's limits now; UpdateFailed when it is gone."""
    doc = engine.inspect(container_id)
    if doc is None:
        raise UpdateFailed("the container is gone")
    return limits_from_inspect(doc)


def update_limits(engine: Engine, container_id: str, memory: int | None, reservation: int | None,
                  cpus: float | None, *, current: ContainerLimits | None = None) -> None:
    """Set the given limits (None: unchanged) on the container, running or not.

    `current`: its limits if already read (the swap allowance is computed from them). UpdateFailed says why
    the engine refused (UpdateUnsupported: it has no such call); a connection failure raises one of
    ENGINE_ERRORS."""
    if current is None:
        current = read_limits(engine, container_id)
    body = update_body(current, memory, reservation, cpus)
    if not body:
        return
    # docker-py's update_container() cannot send NanoCpus, and compose's `cpus` sets exactly that: Docker then
    # refuses a CFS quota. The endpoint is called directly, through the one module that reaches under docker-py.
    try:
        response = dockerapi.open_stream(engine.api, "POST", "/containers/{0}/update", container_id,
                                         data=json.dumps(body), headers={"Content-Type": "application/json"},
                                         begin_within=engine.api.timeout)
    except docker.errors.APIError as exc:
        status = exc.response.status_code if exc.response is not None else None
        explanation = str(exc.explanation or exc)
        # An engine without the endpoint answers its router's bare 404 (Podman 4.3: "Not Found"); a missing
        # container's 404 names the container.
        if status == 404 and "container" not in explanation.lower():
            raise UpdateUnsupported(unsupported(engine.info.kind, engine.info.version)) from None
        raise UpdateFailed(engine_reason(explanation)) from None
    try:
        response.content  # noqa: B018 - the short answer ({"Warnings": ...}) is read whole, then the connection ends
    finally:
        dockerapi.close_stream(response)


def unsupported(kind: str, version: str) -> str:
    # Podman 4.3's libpod endpoint (/libpod/containers/{id}/update) does change the cgroup, but inspect keeps
    # the old values, so skid and `docker inspect` would show limits that no longer apply: not used.
    what = "its Docker-compatible API" if kind == "Podman" else "its API"
    return (f"this engine does not support changing a running container's limits ({kind} {version}: {what} has "
            "no container update); write an override file and recreate the container instead")


_CONTAINER_PREFIX = re.compile(r"^Cannot update container [0-9a-f]+: ", re.IGNORECASE)
_RUNC_PREFIX = re.compile(r"^(?:OCI runtime \w+ failed: )?runc did not terminate successfully: exit status \d+: ")
_BELOW_USAGE = re.compile(r"unable to set memory limit to (\d+) \(current usage: (\d+), peak usage: (\d+)\)")


def engine_reason(explanation: str) -> str:
    """The engine's refusal as one short line: without the container id, runc's wrapping and `: unknown`."""
    text = " ".join(explanation.split())
    text = _CONTAINER_PREFIX.sub("", text)
    text = _RUNC_PREFIX.sub("", text)
    text = re.sub(r"\s*: unknown$", "", text)
    below = _BELOW_USAGE.search(text)
    if below:
        limit, usage, peak = (int(n) for n in below.groups())
        # The kernel could not reclaim enough (shm, anonymous memory without swap): said in the user's units.
        return (f"the kernel refused a limit of {format_bytes(limit)}: the container uses {format_bytes(usage)} "
                f"(peak {format_bytes(peak)}) and could not give enough back")
    return text[:200] or "the engine refused the update"
