"""`s` and `skid shell SERVICE [-- CMD ...]`: which container, which command. Blocking (a worker thread, or
the command line); the session itself is engine.exec's, on the caller's terminal."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from skid_tui.engine.client import ENGINE_ERRORS, Engine, describe_error
from skid_tui.engine.containers import read_project, service_containers
from skid_tui.engine.discovery import EngineCandidate
from skid_tui.engine.exec import ExecFailed, find_shell, run_session
from skid_tui.stack import Stack

SHELLS = ("bash", "sh")


class ShellError(Exception):
    """One line: why no session can start (no container running, no shell in it, the engine failed)."""


@dataclass(frozen=True)
class ShellPlan:
    service: str
    container_id: str
    container: str  # its name, for "shell in demo-go-1"
    command: tuple[str, ...]
    note: str = ""  # said before the session: "no bash in alpine: sh"


def running_container(engine: Engine, stack: Stack, service: str) -> tuple[str, str] | None:
    """(id, name) of the service's first running container, None when none runs."""
    grouped = service_containers(read_project(engine, stack.project), stack.project)
    for c in grouped.get(service, ()):
        if c.state == "running":
            return c.id, c.name
    return None


def plan_shell(engine: Engine, stack: Stack, service: str, command: Sequence[str] = ()) -> ShellPlan:
    """The container to enter and what to run there: the command given, else bash, else sh."""
    try:
        found = running_container(engine, stack, service)
        if found is None:
            raise ShellError(f"{service} has no running container")
        cid, name = found
        if command:
            return ShellPlan(service, cid, name, tuple(command))
        shell = find_shell(engine, cid, SHELLS)
    except ENGINE_ERRORS as exc:
        raise ShellError(f"the engine failed: {describe_error(exc)}") from None
    if shell is None:
        raise ShellError(f"{name} has neither bash nor sh: no shell to open (`skid shell {service} -- CMD` "
                         "runs a program it has)")
    note = "" if shell == SHELLS[0] else f"no bash in {name}: {shell}"
    return ShellPlan(service, cid, name, (shell,), note)


@dataclass
class Session:
    """A planned session on its engine: run it on this process's terminal, then close it."""

    engine: Engine
    plan: ShellPlan

    def run(self, tty: bool | None = None) -> int:
        """The command's exit status; ShellError when the engine would not run it or failed mid-way."""
        try:
            return run_session(self.engine, self.plan.container_id, self.plan.command, tty=tty)
        except ExecFailed as exc:
            raise ShellError(f"{self.plan.container}: {exc}") from None
        except ENGINE_ERRORS as exc:
            raise ShellError(f"the engine failed: {describe_error(exc)}") from None

    def close(self) -> None:
        self.engine.close()


def prepare(stack: Stack, service: str, candidates: Callable[[], list[EngineCandidate]],
            command: Sequence[str] = ()) -> Session:
    """Connect and plan (blocking: the probes take a moment); ShellError says why not."""
    try:
        engine = Engine.first_answering(candidates())
    except ENGINE_ERRORS as exc:
        raise ShellError(f"no engine: {describe_error(exc)}") from None
    try:
        return Session(engine, plan_shell(engine, stack, service, command))
    except BaseException:
        engine.close()
        raise
