"""A connection to one Docker-compatible engine: what it is, and the calls skid makes on it.

Every method here blocks; callers run them in a thread, never on the UI's event loop.

Deadlines: every request waits at most `engine_timeout()` seconds (10 s; `SKID_ENGINE_TIMEOUT=SECONDS`
overrides it) for each read of its answer, so an engine that accepts and never answers ends the call
with `EngineTimeout` naming the engine, the wait and the endpoint. A slow engine that keeps answering
(a chunk every few seconds) is waited for. Streams (events, logs, stats, builds) wait that long for
their answer to begin, then as long as they stay open: a quiet events stream is not a hung engine.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import docker
import docker.constants
import docker.errors
import docker.utils
import requests.exceptions

from skid_tui.engine import dockerapi
from skid_tui.engine.discovery import HOW_TO_START, EngineCandidate

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
NUMBER_LABEL = "com.docker.compose.container-number"
ONEOFF_LABEL = "com.docker.compose.oneoff"

# The container events that change what a panel shows. Docker matches `health_status` fuzzily, so it
# also catches "health_status: healthy". Podman says init/cleanup/remove where Docker says create/destroy.
# "died": Podman filters on its own name for a container's end and sends it as "die"; with "die" alone its
# compat API leaves every die out of a filtered stream (Docker ignores the name it does not know).
WATCHED_EVENTS = (
    "create", "start", "restart", "stop", "die", "died", "kill", "oom", "pause", "unpause",
    "destroy", "rename", "update", "health_status", "remove", "cleanup", "init",
)  # fmt: skip

ENGINE_TIMEOUT = 10.0  # seconds per request (per read of its answer); SKID_ENGINE_TIMEOUT overrides
ENGINE_TIMEOUT_ENV = "SKID_ENGINE_TIMEOUT"


def seconds_from_env(name: str, default: float) -> float:
    """A positive number of seconds from the environment, else the default (a typo must not mean "never")."""
    try:
        value = float(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if 0 < value < float("inf") else default


def engine_timeout() -> float:
    return seconds_from_env(ENGINE_TIMEOUT_ENV, ENGINE_TIMEOUT)


class EngineTimeout(requests.exceptions.Timeout):
    """The engine accepted the request and said nothing for `seconds`: which engine, and what skid waited for."""

    def __init__(self, engine_url: str, path: str, seconds: float) -> None:
        self.engine_url = engine_url
        self.path = path
        self.seconds = seconds
        super().__init__(f"the engine at {engine_url} did not answer within {seconds:g} s (waiting for {path})")

    @property
    def reason(self) -> str:
        return f"did not answer within {self.seconds:g} s (waiting for {self.path})"


def endpoint(url: str) -> str:
    """`/containers/json` from `http+docker://localhost/v1.41/containers/json?all=1`."""
    path = urlsplit(url).path or "/"
    head, _, rest = path.lstrip("/").partition("/")
    if head.startswith("v") and head[1:].replace(".", "").isdigit():
        path = f"/{rest}"
    return path


class TimedAPIClient(docker.APIClient):
    """docker-py's client, whose timeouts say which engine and which endpoint did not answer."""

    def __init__(self, engine_url: str, **kwargs: Any) -> None:
        super().__init__(base_url=engine_url, **kwargs)
        self.engine_url = engine_url

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        try:
            return super().request(method, url, *args, **kwargs)
        except requests.exceptions.Timeout as exc:
            raise EngineTimeout(self.engine_url, endpoint(str(url)), self._seconds(kwargs)) from exc
        except requests.exceptions.ConnectionError as exc:
            # A read timeout on a unix socket can arrive wrapped as a connection error.
            if "timed out" not in str(exc):
                raise
            raise EngineTimeout(self.engine_url, endpoint(str(url)), self._seconds(kwargs)) from exc

    def _seconds(self, kwargs: Mapping[str, Any]) -> float:
        seconds = kwargs.get("timeout") or self.timeout
        if isinstance(seconds, tuple):
            seconds = max((s for s in seconds if s is not None), default=None)
        return float(seconds or 0)


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

    def __init__(self, attempts: Sequence[Attempt], timed_out: EngineTimeout | None = None) -> None:
        self.attempts = tuple(attempts)
        self.timed_out = timed_out
        if timed_out is not None and len(self.attempts) == 1:
            # The engine is there but stuck: how to start one would be the wrong advice.
            super().__init__(f"{timed_out} ({self.attempts[0].candidate.source}); it accepts connections but "
                             f"does not answer: restart it, or for a slow one raise {ENGINE_TIMEOUT_ENV}")
            return
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
    if isinstance(exc, EngineTimeout):
        return exc.reason
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
    def connect(cls, candidate: EngineCandidate, timeout: float | None = None) -> Engine:
        """Connect and identify, or raise one of ENGINE_ERRORS (EngineTimeout when it does not answer).

        `timeout`: seconds per request, for this call and every later one (default `engine_timeout()`)."""
        if candidate.url is None:
            raise docker.errors.DockerException(candidate.problem or "unresolved")
        sock = candidate.socket_path
        if sock is not None and not sock.exists():
            raise FileNotFoundError(2, "No such file or directory", str(sock))
        tls: Any = False
        if candidate.source == "DOCKER_HOST" and os.environ.get("DOCKER_TLS_VERIFY"):
            tls = docker.utils.kwargs_from_env().get("tls", False)
        # Not version="auto": docker-py would ask for /version inside its constructor, where a timeout loses
        # its name. The same negotiation, done here: one /version, then the server's API version is used.
        seconds = engine_timeout() if timeout is None else timeout
        api = TimedAPIClient(candidate.url, version=docker.constants.DEFAULT_DOCKER_API_VERSION, timeout=seconds,
                             tls=tls)
        try:
            version = dockerapi.negotiate_version(api)
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
    def first_answering(cls, candidates: Sequence[EngineCandidate], timeout: float | None = None) -> Engine:
        """The first candidate that answers, or EngineUnavailable naming every attempt (and what it waited for)."""
        attempts: list[Attempt] = []
        timed_out: EngineTimeout | None = None
        for candidate in candidates:
            try:
                return cls.connect(candidate, timeout=timeout)
            except ENGINE_ERRORS as exc:
                if isinstance(exc, EngineTimeout):
                    timed_out = exc
                attempts.append(Attempt(candidate, candidate.problem or describe_error(exc)))
        raise EngineUnavailable(attempts, timed_out)

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

    def unpause(self, container_id: str) -> None:
        self.api.unpause(container_id)

    def inspect_image(self, image: str) -> dict[str, Any] | None:
        """The image's inspect document (by id or name), or None when the engine no longer has it."""
        try:
            return self.api.inspect_image(image)
        except docker.errors.NotFound:
            return None

    def project_events(self, project: str) -> Iterator[dict[str, Any]]:
        """The engine's container events for one compose project, as an endless, closable stream.

        As docker-py's events(), except that the answer must begin within the request timeout (docker-py
        waits forever for it); once it has, the stream may stay quiet for as long as nothing happens."""
        filters = {"type": ["container"], "label": [f"{PROJECT_LABEL}={project}"], "event": list(WATCHED_EVENTS)}
        api = self.api
        params = {"filters": docker.utils.convert_filters(filters)}
        response = dockerapi.open_stream(api, "GET", "/events", params=params, begin_within=api.timeout)
        return dockerapi.Stream(dockerapi.json_stream(api, response), response)
