"""Every compose call skid makes is built here, by one rule for each choice, for both front ends.

- **tool**: `--compose-cmd`, else the `docker-compose` beside skid's own interpreter, else the first of
  `docker compose`, `docker-compose`, `podman compose`, `podman-compose` on PATH that answers `version`
  (`engine.compose_tool.detect_compose`).
- **files**: the stack's compose files in the order they were given, one `-f` each: compose merges them
  as skid's loader did.
- **project**: the stack's project name (`-p`), as skid resolved it (`-p`, `COMPOSE_PROJECT_NAME`, the
  top-level `name:`, the first file's directory).
- **env files**: none passed. Compose reads the `.env` beside the first file itself, as skid's loader does.
- **profiles**: for the services a call names, one compose profile each that enables it, reusing one
  already chosen (`--profile llm` covers llm-advisor); a service without profiles needs none. Never
  `--profile "*"`: that would let `up` start services nobody named.
- **engine**: `DOCKER_HOST` set to the engine skid watches, for every compose tool, so that compose
  changes what skid shows (skid may have found a Podman or Docker Desktop socket compose would not look
  at). Except when that engine came from a docker context: compose reads the same context itself, with TLS
  settings that `DOCKER_HOST` alone would lose. When no engine answered but the user named one (`--host`,
  `DOCKER_HOST`), compose gets that one too, and says in its own words why it cannot reach it.
- **recreate**: on Podman, `up` gets `--no-recreate`. docker-compose v2 compares a container's network ID
  with the network's, and Podman's API answers with the network's name: every `up -d SERVICE` would
  recreate each running dependency of SERVICE (a database restarted to start an API). The price: a
  changed service definition is not applied by skid's start on Podman (`docker-compose up -d SERVICE`
  by hand applies it).
"""

from __future__ import annotations

import os
import shlex
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from skid_tui.engine.compose_tool import ComposeCall, ComposeStopped, ComposeTool, last_error, run_compose
from skid_tui.engine.discovery import EngineCandidate
from skid_tui.stack import Stack


def compose_profiles(stack: Stack, services: Iterable[str]) -> tuple[str, ...]:
    """The compose profiles to enable so every named service can be named (see the module docstring)."""
    chosen: list[str] = []
    for name in services:
        spec = stack.services.get(name)
        if spec is None or not spec.compose_profiles or set(spec.compose_profiles) & set(chosen):
            continue
        chosen.append(spec.compose_profiles[0])
    return tuple(chosen)


def engine_env(candidate: EngineCandidate | None) -> dict[str, str]:
    """The environment that points compose at skid's engine (see the module docstring)."""
    if candidate is None or candidate.url is None or candidate.source.startswith("docker context"):
        return {}
    return {"DOCKER_HOST": candidate.url}


def engine_for_compose(connected: EngineCandidate | None,
                       candidates: Callable[[], list[EngineCandidate]]) -> EngineCandidate | None:
    """The engine compose acts on: the one skid is connected to; with none, the one the user named, if any."""
    if connected is not None:
        return connected
    found = candidates()
    return found[0] if len(found) == 1 and found[0].explicit else None


@dataclass(frozen=True)
class ComposeTarget:
    """What every compose call on one stack shares: the tool, the files and project, the engine."""

    stack: Stack
    tool: ComposeTool
    env: Mapping[str, str] = field(default_factory=dict)
    no_recreate: bool = False  # Podman: see "recreate" in the module docstring

    @classmethod
    def for_engine(cls, stack: Stack, tool: ComposeTool, engine: EngineCandidate | None,
                   engine_kind: str = "") -> ComposeTarget:
        return cls(stack, tool, engine_env(engine), no_recreate=engine_kind == "Podman")

    def call(self, *args: str, services: Iterable[str] = ()) -> ComposeCall:
        return ComposeCall(
            self.tool,
            files=tuple(str(f) for f in self.stack.compose_files),
            project=self.stack.project,
            args=tuple(args),
            profiles=compose_profiles(self.stack, services),
            env=dict(self.env),
        )


def shown(call: ComposeCall) -> str:
    """The exact command as the user could paste it: the variables that differ from their shell first."""
    changed = [f"{k}={shlex.quote(v)}" for k, v in call.env.items() if os.environ.get(k) != v]
    return " ".join([*changed, call.display()])


@dataclass(frozen=True)
class ComposeResult:
    """How one compose call ended: its status and output, or that skid stopped it (deadline, cancel)."""

    call: ComposeCall
    status: int
    lines: tuple[str, ...]
    seconds: float
    stopped: str = ""  # skid ended it: "... did not finish within 600 s: stopped it", "... cancelled: ..."
    killed: bool = False  # it had to be SIGKILLed

    @property
    def ok(self) -> bool:
        return self.status == 0 and not self.stopped

    @property
    def error(self) -> str:
        """One line: why it failed, in compose's words (or skid's, when skid stopped it); "" when it did not."""
        if self.stopped:
            return self.stopped
        if self.status:
            return f"compose failed (exit {self.status}): {last_error(self.lines) or 'it printed nothing'}"
        return ""


STOPPED_STATUS = -15  # the status of a run skid stopped (its deadline, or a cancel)


def run(call: ComposeCall, on_line: Callable[[str], None] = lambda _: None,
        cancel: threading.Event | None = None) -> ComposeResult:
    """Run one call to its end, within its deadline (blocking; the dashboard runs it on a worker thread).

    Ctrl-C raises ComposeInterrupted once compose is gone; a deadline or `cancel` is a result, not an error."""
    lines: list[str] = []

    def collect(line: str) -> None:
        lines.append(line)
        on_line(line)

    started = time.monotonic()
    try:
        status = run_compose(call, collect, cancel=cancel)
    except ComposeStopped as exc:
        return ComposeResult(call, STOPPED_STATUS, tuple(lines), time.monotonic() - started, str(exc), exc.killed)
    return ComposeResult(call, status, tuple(lines), time.monotonic() - started)
