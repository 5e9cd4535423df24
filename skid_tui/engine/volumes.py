"""The volumes an action would delete, as the engine has them, and deleting exactly those.

Nothing skid does deletes a volume the user was not shown. So the list comes from the engine, not the
compose file: a service's anonymous volumes (`volumes: ["/data"]`) exist only as mounts of its containers,
with a hex name and no compose label, and `compose rm -v` / `down -v` would delete them unannounced.
skid therefore removes containers without `-v` and then removes, by name, exactly the volumes it listed.

Every function blocks: callers run them in a thread.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import docker.errors

from skid_tui.engine.client import ENGINE_ERRORS, ONEOFF_LABEL, PROJECT_LABEL, SERVICE_LABEL, Engine, describe_error
from skid_tui.safe_text import visible
from skid_tui.stack import format_bytes

VOLUME_LABEL = "com.docker.compose.volume"  # compose puts it on the named volumes it creates
_ANONYMOUS = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Volume:
    """One volume an action would delete."""

    name: str  # the engine's name: what `docker volume ls` shows
    size: int | None  # bytes, as the engine's disk-usage report says; None when it does not say
    anonymous: bool
    mounts: tuple[tuple[str, str], ...] = ()  # (service, path in its container) for every container mounting it

    def size_text(self) -> str:
        return "size unknown" if self.size is None else format_bytes(self.size)

    def where(self) -> str:
        """`anonymous, anon:/data` or `named, postgres:/var/lib/postgresql/data`."""
        kind = "anonymous" if self.anonymous else "named"
        places = ", ".join(dict.fromkeys(f"{s}:{path}" for s, path in self.mounts))
        return visible(f"{kind}, {places}" if places else kind)

    def describe(self) -> str:
        """One listing line: name, size, what it is. The full name, so the user can check it."""
        return f"{visible(self.name)}  {self.size_text()}  ({self.where()})"


@dataclass
class Removal:
    """What happened to each listed volume."""

    removed: list[Volume] = field(default_factory=list)
    gone: list[Volume] = field(default_factory=list)  # already deleted by someone else: nothing to do
    kept: list[tuple[Volume, str]] = field(default_factory=list)  # (volume, why the engine refused)

    def summary(self) -> str:
        """One line for the activity log or the CLI."""
        parts = []
        if self.removed:
            parts.append("removed " + ", ".join(f"{visible(v.name)} ({v.size_text()})" for v in self.removed))
        if self.gone:
            parts.append("already gone: " + ", ".join(visible(v.name) for v in self.gone))
        if self.kept:
            parts.append("kept " + ", ".join(f"{visible(v.name)} ({visible(why)})" for v, why in self.kept))
        return "; ".join(parts) or "no volume removed"


def is_anonymous(name: str, labels: Mapping[str, str] | None) -> bool:
    """An engine-made name (64 hex digits) that compose did not label as one of its named volumes."""
    return bool(_ANONYMOUS.match(name)) and VOLUME_LABEL not in (labels or {})


def volume_mounts(containers: Iterable[Mapping[str, Any]], project: str) -> dict[str, list[tuple[str, str]]]:
    """Volume name -> (service, destination) for every volume mount of the project's containers; a
    one-off container (`compose run`) counts as the service `run:SERVICE`, which no action removes."""
    found: dict[str, list[tuple[str, str]]] = {}
    for doc in containers:
        labels = (doc.get("Config") or {}).get("Labels") or {}
        if labels.get(PROJECT_LABEL) != project:
            continue
        service = str(labels.get(SERVICE_LABEL, ""))
        if str(labels.get(ONEOFF_LABEL, "False")).lower() == "true":
            service = f"run:{service}"
        for mount in doc.get("Mounts") or []:
            if mount.get("Type") == "volume" and mount.get("Name"):
                found.setdefault(str(mount["Name"]), []).append((service, str(mount.get("Destination", ""))))
    return found


def usage_sizes(df: Mapping[str, Any] | None) -> dict[str, int | None]:
    """Volume name -> bytes from `GET /system/df`; None where the engine did not compute it (Size -1)."""
    sizes: dict[str, int | None] = {}
    for vol in (df or {}).get("Volumes") or []:
        usage = vol.get("UsageData") or {}
        size = usage.get("Size")
        sizes[str(vol.get("Name", ""))] = size if isinstance(size, int) and size >= 0 else None
    return sizes


@dataclass(frozen=True)
class VolumePlan:
    """What an action deletes, and what it keeps because a container it does not remove mounts it."""

    going: tuple[Volume, ...]
    shared: tuple[Volume, ...] = ()


def plan_volumes(containers: Iterable[Mapping[str, Any]], existing: Iterable[Mapping[str, Any]],
                 sizes: Mapping[str, int | None], *, project: str, services: Collection[str],
                 named: Sequence[str]) -> VolumePlan:
    """The volumes that go: the `named` engine names that exist, then the anonymous volumes mounted by the
    services' containers. One that a container of another service (or a one-off) also mounts is kept:
    deleting it would fail, or worse, take another service's data. Pure: the engine's answers are passed in."""
    labels = {str(v.get("Name", "")): v.get("Labels") or {} for v in existing}
    mounts = volume_mounts(containers, project)
    candidates = [Volume(name, sizes.get(name), False, tuple(mounts.get(name, ()))) for name in dict.fromkeys(named)
                  if name in labels]
    candidates += [Volume(name, sizes.get(name), True, tuple(where)) for name, where in mounts.items()
                   if name in labels and is_anonymous(name, labels[name]) and any(s in services for s, _ in where)]
    going = [v for v in candidates if all(s in services for s, _ in v.mounts)]
    shared = [v for v in candidates if v not in going]
    return VolumePlan(tuple(going), tuple(shared))


def volumes_to_remove(engine: Engine, project: str, services: Collection[str], named: Sequence[str]) -> VolumePlan:
    """Ask the engine which of these volumes exist, with their sizes; raises one of ENGINE_ERRORS.

    `named` is the engine names of the compose volumes that go (the caller knows which are shared or
    external); anonymous ones are found on the services' containers.
    """
    containers = []
    for cid in engine.project_containers(project):
        doc = engine.inspect(cid)
        if doc is not None:
            containers.append(doc)
    existing = engine.api.volumes().get("Volumes") or []
    try:
        sizes = usage_sizes(engine.api.df())
    except ENGINE_ERRORS:
        sizes = {}  # an engine without disk usage (or a slow one): "size unknown", never a guess
    return plan_volumes(containers, existing, sizes, project=project, services=services, named=named)


def remove_volumes(engine: Engine, volumes: Sequence[Volume]) -> Removal:
    """Remove exactly these volumes, by name; one that is still in use is kept and said so."""
    result = Removal()
    for vol in volumes:
        try:
            engine.api.remove_volume(vol.name)
        except docker.errors.NotFound:
            result.gone.append(vol)
        except ENGINE_ERRORS as exc:
            reason = exc.explanation if isinstance(exc, docker.errors.APIError) and exc.explanation else None
            result.kept.append((vol, str(reason or describe_error(exc))))
        else:
            result.removed.append(vol)
    return result
