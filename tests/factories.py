"""Deterministic stacks and containers for unit and snapshot tests (no files, no engine)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from skid_tui.engine.containers import ContainerSnapshot, PublishedPort
from skid_tui.stack.model import Budget, Location, OnDemand, PortSpec, Profile, ServiceSpec, Stack

MiB = 1024**2
GiB = 1024**3
NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)

# name: (standard, maximum, cpus reservation, cpus limit, container port, compose profiles)
SERVICES = {
    "postgres": (256 * MiB, 512 * MiB, 0.25, 0.5, 5432, ()),
    "redis": (128 * MiB, 256 * MiB, 0.1, 0.3, 6379, ()),
    "minio": (256 * MiB, 512 * MiB, 0.2, 0.5, 9000, ()),
    "api": (256 * MiB, 512 * MiB, 0.25, 0.5, 8080, ()),
    "orchestrator": (256 * MiB, 512 * MiB, None, None, 8000, ()),
    "binary-processor": (128 * MiB, 256 * MiB, None, 0.3, 8090, ()),
    "llm-advisor": (1 * GiB, 2 * GiB, 0.5, 1.5, 8765, ("llm", "full", "all")),
    "typescript": (512 * MiB, 1 * GiB, 0.5, 1.0, None, ("dev", "typescript", "all")),
    "python": (512 * MiB, 1 * GiB, 0.5, 1.0, None, ("dev", "python", "all")),
    "go": (512 * MiB, 1 * GiB, 0.5, 1.0, None, ("dev", "go", "all")),
}
MINIMAL = ("postgres", "redis", "minio")
PROFILES = {
    "minimal": MINIMAL,
    "app": (*MINIMAL, "api", "orchestrator", "binary-processor"),
    "llm": (*MINIMAL, "llm-advisor"),
    "full": (*MINIMAL, "api", "orchestrator", "binary-processor", "llm-advisor"),
    "typescript": (*MINIMAL, "typescript"),
}


def demo_stack(project: str = "skid-demo") -> Stack:
    where = Location("compose/demo.yml", 1, 1)
    services = {
        name: ServiceSpec(
            name=name,
            location=where,
            image=f"skid-demo/{name}:latest",
            compose_profiles=profiles,
            budget=Budget(std, mx, cres, clim),
            ports=(PortSpec(port, port + 10000, "127.0.0.1"),) if port else (),
            has_healthcheck=port is not None,
        )
        for name, (std, mx, cres, clim, port, profiles) in SERVICES.items()
    }
    profiles = {
        name: Profile(
            name=name,
            location=Location(f"profiles/{name}.yaml", 1, 1),
            services=members,
            description=f"the {name} profile",
            on_demand=(OnDemand("llm-advisor", 600.0),),
        )
        for name, members in PROFILES.items()
    }
    return Stack(project, (Path("compose/demo.yml"),), services, profiles, Path("profiles"))


def container(
    service: str,
    *,
    project: str = "skid-demo",
    state: str = "running",
    health: str | None = "healthy",
    exit_code: int = 0,
    up_for: timedelta = timedelta(minutes=5),
    number: int = 1,
    oom: bool = False,
) -> ContainerSnapshot:
    port = SERVICES[service][4]
    started = NOW - up_for
    return ContainerSnapshot(
        id=f"{abs(hash((service, number))):064x}"[:64],
        name=f"{project}-{service}-{number}",
        project=project,
        service=service,
        number=number,
        oneoff=False,
        state=state,
        exit_code=exit_code,
        health=health,
        started_at=started,
        finished_at=None if state == "running" else NOW,
        oom_killed=oom,
        image=f"skid-demo/{service}:latest",
        ports=(PublishedPort(port, "tcp", "127.0.0.1", port + 10000),) if port and state == "running" else (),
    )
