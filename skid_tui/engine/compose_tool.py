"""Starting and stopping services through the compose tool the user already has.

skid does not reimplement compose: `up -d SERVICE` decides dependencies, networks and profiles exactly as
the user's own `docker compose` would. Detection order: `docker compose` (the v2 plugin),
`docker-compose` (v1, or a standalone v2), `podman compose`, `podman-compose`; `--compose-cmd` picks one.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

CANDIDATES: tuple[tuple[str, ...], ...] = (
    ("docker", "compose"),
    ("docker-compose",),
    ("podman", "compose"),
    ("podman-compose",),
)
HOW_TO_INSTALL = (
    "install Docker Compose v2 (Docker Desktop has it; on Linux the docker-compose-plugin package), "
    "or podman-compose, or name one with --compose-cmd"
)

Runner = Callable[..., subprocess.CompletedProcess]


@dataclass(frozen=True)
class ComposeTool:
    """A compose command that answered `version`."""

    argv: tuple[str, ...]
    version: str

    @property
    def name(self) -> str:
        return " ".join(self.argv)

    @property
    def is_docker_compose(self) -> bool:
        """docker compose v2 and docker-compose v1 both take `--ansi never`; podman's tools do not."""
        return "podman" not in os.path.basename(self.argv[0]) and "podman" not in self.argv[1:2]

    def describe(self) -> str:
        return f"{self.name} {self.version}".strip()


class ComposeNotFound(Exception):
    def __init__(self, tried: Sequence[tuple[str, str]]) -> None:
        self.tried = tuple(tried)
        listed = "; ".join(f"`{cmd}`: {why}" for cmd, why in tried)
        super().__init__(f"no compose tool answered (tried {listed}). To fix: {HOW_TO_INSTALL}.")


_VERSION = re.compile(r"v?(\d+\.\d+(?:\.\d+)?)")


def probe(argv: Sequence[str], run: Runner = subprocess.run, timeout: float = 15.0) -> tuple[str | None, str]:
    """(version, why not): run `<argv> version` and read a version number from it."""
    try:
        out = run([*argv, "version"], capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError:
        return None, "not installed"
    except (OSError, subprocess.SubprocessError) as exc:
        return None, str(exc)
    text = f"{out.stdout}\n{out.stderr}".strip()
    if out.returncode != 0:
        first = text.splitlines()[0] if text else f"exit status {out.returncode}"
        return None, first[:120]
    match = _VERSION.search(text)
    return (match.group(1) if match else "?"), ""


def detect_compose(preferred: str | None = None, *, run: Runner = subprocess.run) -> ComposeTool:
    """The compose tool to use: `preferred` (the --compose-cmd value) or the first that answers."""
    candidates = [tuple(shlex.split(preferred))] if preferred else list(CANDIDATES)
    tried: list[tuple[str, str]] = []
    for argv in candidates:
        if not argv:
            continue
        version, why = probe(argv, run)
        if version is not None:
            return ComposeTool(tuple(argv), version)
        tried.append((" ".join(argv), why))
    raise ComposeNotFound(tried)


@dataclass(frozen=True)
class ComposeCall:
    """One compose invocation on the stack's files and project."""

    tool: ComposeTool
    files: tuple[str, ...]
    project: str
    args: tuple[str, ...]
    profiles: tuple[str, ...] = ()  # compose profiles to enable, so services behind them can be named
    env: Mapping[str, str] = field(default_factory=dict)  # added to the process environment

    def argv(self) -> list[str]:
        out = [*self.tool.argv]
        if self.tool.is_docker_compose:
            out += ["--ansi", "never"]
        out += ["-p", self.project]
        for f in self.files:
            out += ["-f", f]
        for p in self.profiles:
            out += ["--profile", p]
        return out + list(self.args)

    def display(self) -> str:
        """The exact command, as the user could paste it."""
        return shlex.join(self.argv())

    def environment(self) -> dict[str, str]:
        return {**os.environ, **self.env}


def run_compose(call: ComposeCall, on_line: Callable[[str], None]) -> int:
    """Run it, handing every output line (stdout and stderr merged) to on_line; the exit status.

    Blocking: the CLI's way. The dashboard uses run_compose_async.
    """
    try:
        proc = subprocess.Popen(call.argv(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env=call.environment(), bufsize=1)
    except OSError as exc:
        on_line(f"cannot run {call.tool.name}: {exc}")
        return 127
    assert proc.stdout is not None
    for line in proc.stdout:
        on_line(line.rstrip("\n"))
    return proc.wait()


async def run_compose_async(call: ComposeCall, on_line: Callable[[str], None]) -> int:
    """The same on the event loop: an asyncio subprocess, nothing blocks."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *call.argv(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=call.environment()
        )
    except OSError as exc:
        on_line(f"cannot run {call.tool.name}: {exc}")
        return 127
    assert proc.stdout is not None
    try:
        async for raw in proc.stdout:
            on_line(raw.decode(errors="replace").rstrip("\n"))
        return await proc.wait()
    except asyncio.CancelledError:
        # The app is closing mid-operation: let compose finish on its own rather than leave it half done.
        raise


def last_error(lines: Sequence[str]) -> str:
    """The line of compose's output that names the failure (it prints the error last)."""
    for line in reversed(lines):
        text = line.strip()
        if text and ("error" in text.lower() or "failed" in text.lower() or "no such" in text.lower()):
            return text
    return next((x.strip() for x in reversed(lines) if x.strip()), "")
