"""The stack as plain data: services with their budgets, laptop profiles, and config issues.

Nothing here talks to an engine or imports Textual; the engine and the UI read these objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Location:
    """Where a value was written: 1-based line and column, as editors count."""

    file: str
    line: int = 1
    col: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in the user's files, printed as one line: `FILE:LINE:COL: what (expected)`."""

    location: Location
    message: str
    expected: str = ""
    severity: Severity = "error"

    def __str__(self) -> str:
        prefix = "warning: " if self.severity == "warning" else ""
        tail = f" ({self.expected})" if self.expected else ""
        return f"{self.location}: {prefix}{self.message}{tail}"


class ConfigError(Exception):
    """The configuration cannot be used. Carries every error found, each printable on one line."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


@dataclass(frozen=True)
class Budget:
    """A service's resource budget: standard = compose reservation, maximum = compose limit.

    Memory in bytes, CPUs as a fraction of one core; None where the compose file sets nothing.
    """

    mem_standard: int | None = None
    mem_max: int | None = None
    cpus_reservation: float | None = None
    cpus_limit: float | None = None

    @property
    def has_memory(self) -> bool:
        return self.mem_standard is not None or self.mem_max is not None


@dataclass(frozen=True)
class PortSpec:
    """A published port as written in compose (`"127.0.0.1:8080:8080/tcp"`)."""

    container_port: int
    host_port: int | None = None
    host_ip: str | None = None
    protocol: str = "tcp"

    def __str__(self) -> str:
        host = f"{self.host_ip}:" if self.host_ip else ""
        if self.host_port is None:
            return f"{self.container_port}/{self.protocol}"
        return f"{host}{self.host_port}->{self.container_port}/{self.protocol}"


@dataclass(frozen=True)
class BuildSpec:
    """A compose `build:` section, paths resolved against the compose file's directory."""

    context: Path
    dockerfile: str = "Dockerfile"
    args: dict[str, str] = field(default_factory=dict)
    target: str | None = None


@dataclass(frozen=True)
class ServiceSpec:
    """One compose service as skid needs it."""

    name: str
    location: Location
    image: str | None = None
    build: BuildSpec | None = None
    compose_profiles: tuple[str, ...] = ()
    budget: Budget = field(default_factory=Budget)
    ports: tuple[PortSpec, ...] = ()
    has_healthcheck: bool = False
    depends_on: tuple[str, ...] = ()
    named_volumes: tuple[str, ...] = ()  # compose names of the named volumes it mounts (its data)
    replicas: int = 1  # containers compose runs for it (`deploy.replicas`, else `scale`)
    provider: str | None = None  # `provider: {type: ...}`: no container, compose asks the provider

    @property
    def standard_total(self) -> int:
        """Its standard allocation for every replica (a missing one counts as 0)."""
        return (self.budget.mem_standard or 0) * self.replicas

    @property
    def maximum_total(self) -> int:
        """Its maximum (else its standard) for every replica."""
        return (self.budget.mem_max or self.budget.mem_standard or 0) * self.replicas


@dataclass(frozen=True)
class OnDemand:
    """A service started only when asked for, stopped after idle_timeout seconds of idleness."""

    service: str
    idle_timeout: float = 600.0
    # The profile gave idle_timeout; else the user's default (config idle_stop) applies. Not part of equality:
    # two profiles that stop a service after the same time are the same profile.
    explicit: bool = field(default=True, compare=False)


@dataclass(frozen=True)
class Profile:
    """A laptop profile: which services run together, and the memory they may use on the host."""

    name: str
    location: Location
    services: tuple[str, ...]
    description: str = ""
    host_budget: int = 6 * 1024**3
    on_demand: tuple[OnDemand, ...] = ()

    def on_demand_for(self, service: str) -> OnDemand | None:
        return next((o for o in self.on_demand if o.service == service), None)


@dataclass(frozen=True)
class TestSuite:
    """A test suite from the compose file's `x-skid-tests:`, run in a fresh container per run.

    `image` or `service` (whose image, build tag, environment and working_dir it uses). `volumes` are
    compose short-syntax strings with bind sources already absolute (`/abs/src:/src:ro`); a source that
    is not a path is a named volume of the stack (`node_modules:/app/node_modules`).
    """

    __test__ = False  # not a pytest test class, whatever its name

    name: str
    location: Location
    command: tuple[str, ...] = field(repr=False)  # may hold an interpolated secret
    image: str | None = None
    service: str | None = None
    working_dir: str | None = None
    environment: dict[str, str] = field(default_factory=dict, repr=False)  # values may be secrets
    volumes: tuple[str, ...] = ()
    shm_size: int | None = None
    description: str = ""
    # Values of secret-named variables that interpolation put into the command: masked wherever it is shown.
    secrets: tuple[str, ...] = field(default=(), repr=False)

    def shown_command(self) -> str:
        """The command as text for people: secret values replaced by ***."""
        text = " ".join(self.command)
        for value in self.secrets:
            text = text.replace(value, "***")
        return text


@dataclass(frozen=True)
class Stack:
    """Everything loaded from the compose files and the profiles directory."""

    project: str
    compose_files: tuple[Path, ...]
    services: dict[str, ServiceSpec]  # in compose file order
    profiles: dict[str, Profile]  # in file name order
    profiles_dir: Path | None = None
    extensions: dict[str, object] = field(default_factory=dict)  # top-level `x-` keys, kept as loaded
    warnings: tuple[ConfigIssue, ...] = ()
    volume_names: dict[str, str] = field(default_factory=dict)  # compose volume -> the engine's name
    external_volumes: frozenset[str] = frozenset()  # volumes compose does not own (never removed by skid)
    suites: dict[str, TestSuite] = field(default_factory=dict)  # `x-skid-tests:`, in file order
    sources: tuple[tuple[str, str], ...] = ()  # (file, why it was read), in the order read

    def engine_volumes(self, service: str) -> list[str]:
        """The engine names of a service's own named volumes (`<project>_<name>` unless renamed)."""
        spec = self.services.get(service)
        if spec is None:
            return []
        return [self.volume_names.get(v, f"{self.project}_{v}") for v in spec.named_volumes
                if v not in self.external_volumes]

    def profile_totals(self, profile: Profile) -> tuple[int, int]:
        """Summed (standard, maximum) memory of a profile's services, every replica; a missing value counts 0."""
        members = [self.services[s] for s in profile.services if s in self.services]
        return sum(m.standard_total for m in members), sum(m.maximum_total for m in members)
