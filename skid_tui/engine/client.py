"""A connection to one Docker-compatible engine: what it is, and the calls skid makes on it.

Every method here blocks; callers run them in a thread, never on the UI's event loop.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import docker
import docker.errors
import requests.exceptions

from skid_tui.engine.discovery import HOW_TO_START, EngineCandidate

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
NUMBER_LABEL = "com.docker.compose.container-number"
ONEOFF_LABEL = "com.docker.compose.oneoff"

# The container events that change what a panel shows. Docker matches `health_status` fuzzily, so it
# also catches "health_status: healthy". Podman says init/cleanup/remove where Docker says create/destroy.
WATCHED_EVENTS = (
    "create", "start", "restart", "stop", "die", "kill", "oom", "pause", "unpause",
    "destroy", "rename", "update", "health_status", "remove", "cleanup", "init",
)  # fmt: skip

# Any of these means "the engine did not answer": a missing socket, a refused or dropped connection.
ENGINE_ERRORS: tuple[type[BaseException], ...] = (
    docker.errors.DockerException,
    requests.exceptions.RequestException,
    OSError,
)


@dataclass(frozen=True)
class EngineInfo:
    """What the header says about the engine."""

    kind: str  # "Docker Engine", "Docker Desktop", "Podman"
    version: str
    api_version: str
    os: str
    mem_total: int  # bytes; on Docker Desktop this is the engine VM, not the laptop
    ncpu: int
    candidate: EngineCandidate
    cgroup_version: str = ""

    def describe(self) -> str:
        return f"{self.kind} {self.version} (API {self.api_version})"


@dataclass(frozen=True)
class Attempt:
    """One candidate tried, and what happened."""

    candidate: EngineCandidate
    error: str | None  # None when it answered

    def describe(self) -> str:
        return f"{self.candidate.describe()}: {self.error or 'answered'}"


class EngineUnavailable(Exception):
    """No candidate answered. The message names every place tried and how to start an engine."""

    def __init__(self, attempts: Sequence[Attempt]) -> None:
        self.attempts = tuple(attempts)
        tried = "; ".join(a.describe() for a in attempts) or "nothing to try"
        super().__init__(f"no container engine answered (tried {tried}). To {HOW_TO_START}.")


def engine_kind(version: Mapping[str, Any], info: Mapping[str, Any]) -> str:
    names = " ".join(str(c.get("Name", "")) for c in version.get("Components") or [])
    platform = str((version.get("Platform") or {}).get("Name", ""))
    if "podman" in f"{names} {platform}".lower():
        return "Podman"
    if "docker desktop" in f"{info.get('OperatingSystem', '')} {platform}".lower():
        return "Docker Desktop"
    return "Docker Engine"


def describe_error(exc: BaseException) -> str:
    """A short reason, not a requests traceback: 'connection refused', 'no such socket'."""
    text = str(exc)
    for needle, short in (
        ("No such file or directory", "no such socket"),
        ("Connection refused", "connection refused"),
        ("Permission denied", "permission denied"),
        ("timed out", "timed out"),
        ("Read timed out", "timed out"),
    ):
        if needle in text:
            return short
    return text.splitlines()[0][:160] if text else type(exc).__name__


class Engine:
    """A connected engine. Thread-safe for the calls below (docker-py uses a connection pool)."""

    def __init__(self, api: docker.APIClient, info: EngineInfo) -> None:
        self.api = api
        self.info = info

    @classmethod
    def connect(cls, candidate: EngineCandidate, timeout: float = 5.0) -> Engine:
        """Connect and identify, or raise one of ENGINE_ERRORS."""
        if candidate.url is None:
            raise docker.errors.DockerException(candidate.problem or "unresolved")
        sock = candidate.socket_path
        if sock is not None and not sock.exists():
            raise FileNotFoundError(2, "No such file or directory", str(sock))
        tls: Any = False
        if candidate.source == "DOCKER_HOST" and os.environ.get("DOCKER_TLS_VERIFY"):
            tls = docker.utils.kwargs_from_env().get("tls", False)
        api = docker.APIClient(base_url=candidate.url, version="auto", timeout=timeout, tls=tls)
        try:
            version = api.version()
            info = api.info()
        except BaseException:
            api.close()
            raise
        return cls(
            api,
            EngineInfo(
                kind=engine_kind(version, info),
                version=str(version.get("Version", "?")),
                api_version=str(version.get("ApiVersion", "?")),
                os=str(info.get("OperatingSystem", "")),
                mem_total=int(info.get("MemTotal") or 0),
                ncpu=int(info.get("NCPU") or 0),
                candidate=candidate,
                cgroup_version=str(info.get("CgroupVersion") or ""),
            ),
        )

    @classmethod
    def first_answering(cls, candidates: Sequence[EngineCandidate], timeout: float = 3.0) -> Engine:
        """The first candidate that answers, or EngineUnavailable naming every attempt."""
        attempts: list[Attempt] = []
        for candidate in candidates:
            try:
                return cls.connect(candidate, timeout=timeout)
            except ENGINE_ERRORS as exc:
                attempts.append(Attempt(candidate, candidate.problem or describe_error(exc)))
        raise EngineUnavailable(attempts)

    def close(self) -> None:
        self.api.close()

    def ping(self) -> bool:
        return bool(self.api.ping())

    def project_containers(self, project: str) -> list[str]:
        """Ids of every container (running or not) that compose labelled with this project."""
        found = self.api.containers(all=True, filters={"label": [f"{PROJECT_LABEL}={project}"]})
        return [c["Id"] for c in found]

    def inspect(self, container_id: str) -> dict[str, Any] | None:
        """The container's inspect document, or None when it no longer exists."""
        try:
            return self.api.inspect_container(container_id)
        except docker.errors.NotFound:
            return None

    def project_events(self, project: str) -> Iterator[dict[str, Any]]:
        """The engine's container events for one compose project, as an endless, closable stream."""
        return self.api.events(
            filters={
                "type": ["container"],
                "label": [f"{PROJECT_LABEL}={project}"],
                "event": list(WATCHED_EVENTS),
            },
            decode=True,
        )
