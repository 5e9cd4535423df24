"""Finding the container engine the way the docker CLI does, then the usual sockets of Docker and Podman.

Precedence: `--host`, then `DOCKER_HOST`, then the current docker context (`DOCKER_CONTEXT`, else
`currentContext` in `~/.docker/config.json`, resolved through the context's meta file), then the default
sockets of Docker Engine, Docker Desktop and Podman. A choice the user made (the first three) is the only
candidate: falling back to another engine behind the user's back would show the wrong containers.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from skid_tui.stack.limits import InputTooLarge, read_bounded


@dataclass(frozen=True)
class EngineCandidate:
    """One place an engine may answer, and why skid looks there."""

    url: str | None  # None when the choice could not be resolved (a context with no meta file)
    source: str  # said to the user: "DOCKER_HOST", "docker context 'colima'", "Podman rootless socket"
    explicit: bool = False
    problem: str | None = None  # why the candidate cannot even be tried

    @property
    def socket_path(self) -> Path | None:
        if self.url and self.url.startswith("unix://"):
            return Path(self.url[len("unix://") :])
        return None

    def describe(self) -> str:
        return f"{self.url or '?'} ({self.source})"


def docker_config_dir(environ: Mapping[str, str], home: Path) -> Path:
    return Path(environ["DOCKER_CONFIG"]) if environ.get("DOCKER_CONFIG") else home / ".docker"


def current_context(environ: Mapping[str, str], home: Path) -> str | None:
    """The docker context in force: DOCKER_CONTEXT, else config.json's currentContext; None for default."""
    name = environ.get("DOCKER_CONTEXT")
    if not name:
        config = docker_config_dir(environ, home) / "config.json"
        try:
            # Bounded and non-blocking: a FIFO or /dev/zero in place of docker's config must not hang skid.
            name = json.loads(read_bounded(config, 1 << 20)).get("currentContext")
        except (OSError, ValueError, AttributeError, RecursionError, InputTooLarge):
            name = None
    if not isinstance(name, str) or not name or name == "default":
        return None
    return name


def context_candidate(name: str, environ: Mapping[str, str], home: Path) -> EngineCandidate:
    """Resolve a named context through its meta file (contexts/meta/<sha256 of the name>/meta.json)."""
    source = f"docker context '{name}'"
    digest = hashlib.sha256(name.encode()).hexdigest()
    meta = docker_config_dir(environ, home) / "contexts" / "meta" / digest / "meta.json"
    try:
        data = json.loads(read_bounded(meta, 1 << 20))
        host = data["Endpoints"]["docker"]["Host"]
    except OSError:
        return EngineCandidate(None, source, explicit=True, problem=f"context not found ({meta} is missing)")
    except (ValueError, KeyError, TypeError, RecursionError, InputTooLarge):
        return EngineCandidate(None, source, explicit=True, problem=f"context has no docker endpoint ({meta})")
    return EngineCandidate(str(host), source, explicit=True)


def default_sockets(environ: Mapping[str, str], home: Path) -> list[EngineCandidate]:
    found = [
        EngineCandidate("unix:///var/run/docker.sock", "Docker Engine default socket"),
        EngineCandidate(f"unix://{home}/.docker/run/docker.sock", "Docker Desktop socket"),
        EngineCandidate(f"unix://{home}/.docker/desktop/docker.sock", "Docker Desktop socket"),
        EngineCandidate("unix:///run/podman/podman.sock", "Podman rootful socket"),
    ]
    runtime = environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    found.append(EngineCandidate(f"unix://{runtime}/podman/podman.sock", "Podman rootless socket"))
    return found


def engine_candidates(
    host: str | None = None,
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> list[EngineCandidate]:
    """Where to look for the engine, in the order the docker CLI (then Podman) would use."""
    environ = os.environ if environ is None else environ
    home = Path.home() if home is None else home
    if host:
        return [EngineCandidate(normalise_url(host), "--host", explicit=True)]
    if environ.get("DOCKER_HOST"):
        return [EngineCandidate(normalise_url(environ["DOCKER_HOST"]), "DOCKER_HOST", explicit=True)]
    name = current_context(environ, home)
    if name:
        return [context_candidate(name, environ, home)]
    return default_sockets(environ, home)


def normalise_url(url: str) -> str:
    """A bare socket path is a unix URL, as the docker CLI accepts `-H /path/docker.sock`."""
    url = url.strip()
    if url.startswith("/"):
        return f"unix://{url}"
    return url


HOW_TO_START = (
    "start one: Docker Desktop or Podman Desktop; `sudo systemctl start docker`; "
    "`podman system service --time=0 &`; or, in the skid-tui repository, "
    "`scripts/engine.sh up && eval $(scripts/engine.sh env)`; or pass --host URL"
)
