"""Containers as immutable snapshots, matched to compose services by their labels (never by name)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from skid_tui.engine.client import NUMBER_LABEL, ONEOFF_LABEL, PROJECT_LABEL, SERVICE_LABEL, Engine


@dataclass(frozen=True)
class PublishedPort:
    container_port: int
    protocol: str
    host_ip: str
    host_port: int

    def __str__(self) -> str:
        ip = "" if self.host_ip in ("", "0.0.0.0", "::") else f"{self.host_ip}:"
        return f"{ip}{self.host_port}→{self.container_port}/{self.protocol}"


@dataclass(frozen=True)
class ContainerSnapshot:
    """What the engine said about one container at one moment."""

    id: str
    name: str
    project: str
    service: str
    number: int
    oneoff: bool
    state: str  # created, running, paused, restarting, removing, exited, dead
    exit_code: int
    health: str | None  # starting, healthy, unhealthy; None when the container has no healthcheck
    started_at: datetime | None
    finished_at: datetime | None
    oom_killed: bool
    image: str
    ports: tuple[PublishedPort, ...]
    pid: int = 0
    restart_count: int = 0
    health_checks: int = 0  # results in the engine's health log: 0 while no check has run yet
    health_wait: float = 30.0  # seconds after the start by which the first check is due (start period + interval)

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def is_running(self) -> bool:
        return self.state in ("running", "restarting", "paused")


_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$")


def parse_engine_time(value: str | None) -> datetime | None:
    """Engine timestamps carry nanoseconds and 'Z' (Podman: an offset); the zero time means 'never'."""
    if not value or value.startswith("0001-01-01"):
        return None
    m = _TIME.match(value.strip())
    if not m:
        return None
    base, frac, zone = m.groups()
    text = base + (f".{frac[:6]:0<6}" if frac else "") + ("+00:00" if zone in (None, "Z") else zone)
    return datetime.fromisoformat(text).astimezone(UTC)


def parse_ports(raw: Mapping[str, Any] | None) -> tuple[PublishedPort, ...]:
    ports: list[PublishedPort] = []
    for key, bindings in (raw or {}).items():
        port, _, proto = key.partition("/")
        for b in bindings or []:
            if not b.get("HostPort"):
                continue
            ports.append(PublishedPort(int(port), proto or "tcp", b.get("HostIp") or "", int(b["HostPort"])))
    # IPv4 and IPv6 bindings of one port say the same thing to a user: keep one.
    unique: dict[tuple[int, str, int], PublishedPort] = {}
    for p in sorted(ports, key=lambda p: (p.container_port, p.protocol, ":" in p.host_ip)):
        unique.setdefault((p.container_port, p.protocol, p.host_port), p)
    return tuple(unique.values())


def snapshot_from_inspect(doc: Mapping[str, Any]) -> ContainerSnapshot:
    """Build a snapshot from `GET /containers/{id}/json` (Docker and Podman shapes)."""
    config = doc.get("Config") or {}
    labels = config.get("Labels") or {}
    state = doc.get("State") or {}
    health = state.get("Health") or state.get("Healthcheck") or None
    number = labels.get(NUMBER_LABEL, "1")
    return ContainerSnapshot(
        id=doc["Id"],
        name=str(doc.get("Name", "")).lstrip("/"),
        project=labels.get(PROJECT_LABEL, ""),
        service=labels.get(SERVICE_LABEL, ""),
        number=int(number) if str(number).isdigit() else 1,
        oneoff=str(labels.get(ONEOFF_LABEL, "False")).lower() == "true",
        state=str(state.get("Status", "unknown")),
        exit_code=int(state.get("ExitCode") or 0),
        health=(health or {}).get("Status") or None,
        started_at=parse_engine_time(state.get("StartedAt")),
        finished_at=parse_engine_time(state.get("FinishedAt")),
        oom_killed=bool(state.get("OOMKilled")),
        image=str(config.get("Image", "")),
        ports=parse_ports((doc.get("NetworkSettings") or {}).get("Ports")),
        pid=int(state.get("Pid") or 0),
        restart_count=int(doc.get("RestartCount") or 0),
        health_checks=len((health or {}).get("Log") or ()),
        health_wait=_health_wait(config.get("Healthcheck") or {}),
    )


def _health_wait(check: Mapping[str, Any]) -> float:
    """When a check is due at the latest: its start period and one interval (nanoseconds; 0 is the 30 s default)."""
    interval = int(check.get("Interval") or 0) or 30_000_000_000
    return (int(check.get("StartPeriod") or 0) + interval) / 1e9


def service_containers(
    containers: Iterable[ContainerSnapshot], project: str
) -> dict[str, tuple[ContainerSnapshot, ...]]:
    """Group a project's service containers by compose service, replicas in number order.

    One-off containers (`compose run`) are not the service: they are left out.
    """
    grouped: dict[str, list[ContainerSnapshot]] = {}
    for c in containers:
        if c.project != project or not c.service or c.oneoff:
            continue
        grouped.setdefault(c.service, []).append(c)
    return {s: tuple(sorted(cs, key=lambda c: (c.number, c.name))) for s, cs in grouped.items()}


def read_project(engine: Engine, project: str) -> list[ContainerSnapshot]:
    """Every container of the project, inspected now (blocking: one list call, one inspect each)."""
    snapshots = []
    for cid in engine.project_containers(project):
        doc = engine.inspect(cid)
        if doc is not None:
            snapshots.append(snapshot_from_inspect(doc))
    return snapshots
