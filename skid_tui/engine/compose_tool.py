"""Starting and stopping services through the compose tool the user already has.

skid does not reimplement compose: `up -d SERVICE` decides dependencies, networks and profiles exactly as
the user's own `docker compose` would. Detection order: the `docker-compose` beside skid's own interpreter
(the one `make install` puts in the venv), then on PATH `docker compose` (the v2 plugin), `docker-compose`
(v1, or a standalone v2), `podman compose`, `podman-compose`; `--compose-cmd` picks one.

Deadlines: compose has none of its own, and against an engine that does not answer it waits forever. Every
run here has one, by command: `up` (which may build and pull) 600 s; `stop`, `down`, `rm`, `restart`
120 s; anything else 300 s; `version` probes 15 s. `SKID_COMPOSE_TIMEOUT=SECONDS` sets one deadline for
every command. Past it, or when cancelled (`c` in the dashboard, Ctrl-C on the command line, the app
quitting), compose's whole process group gets SIGTERM, and SIGKILL if it is still there `STOP_GRACE`
seconds later; the exception raised says which it took. Each compose process runs in a session of its
own (so a plugin or helper it spawns goes with it) and is listed in a registry while it runs, so that
`end_children()` can end whatever is left when skid quits.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from skid_tui.engine.client import seconds_from_env

CANDIDATES: tuple[tuple[str, ...], ...] = (
    ("docker", "compose"),
    ("docker-compose",),
    ("podman", "compose"),
    ("podman-compose",),
)
INTERPRETER_BIN = Path(sys.executable).parent
HOW_TO_INSTALL = (
    "install Docker Compose v2 (Docker Desktop has it; on Linux the docker-compose-plugin package), "
    "or podman-compose, or name one with --compose-cmd"
)

Runner = Callable[..., subprocess.CompletedProcess]

COMPOSE_TIMEOUTS = {"up": 600.0, "stop": 120.0, "down": 120.0, "rm": 120.0, "restart": 120.0}
DEFAULT_COMPOSE_TIMEOUT = 300.0
COMPOSE_TIMEOUT_ENV = "SKID_COMPOSE_TIMEOUT"
STOP_GRACE = 5.0  # seconds between SIGTERM and SIGKILL
CANCEL_POLL = 0.1  # seconds: how soon a set cancel event stops the run


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
        """`docker-compose 2.40.3` for the header: the program's name, not the directory it was found in."""
        return " ".join([os.path.basename(self.argv[0]), *self.argv[1:], self.version]).strip()


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


def beside_interpreter() -> list[tuple[str, ...]]:
    """`docker-compose` in the directory of skid's own interpreter (`make install` and pipx put one in the
    venv's bin): found even when that directory is not on PATH (`.venv/bin/skid` run without activating)."""
    path = INTERPRETER_BIN / "docker-compose"
    return [(str(path),)] if path.is_file() and os.access(path, os.X_OK) else []


def detect_compose(preferred: str | None = None, *, run: Runner = subprocess.run) -> ComposeTool:
    """The compose tool to use: `preferred` (the --compose-cmd value), else the first that answers of the
    one beside skid's interpreter and then CANDIDATES on PATH."""
    candidates = [tuple(shlex.split(preferred))] if preferred else [*beside_interpreter(), *CANDIDATES]
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

    def short(self) -> str:
        """The command without its files and project, as said in one-line messages: `docker compose up -d one`."""
        return " ".join([self.tool.name, *self.args])

    def deadline(self) -> float:
        """Seconds this command may take: SKID_COMPOSE_TIMEOUT, else by its verb (see the module docstring)."""
        verb = next((a for a in self.args if not a.startswith("-")), "")
        return seconds_from_env(COMPOSE_TIMEOUT_ENV, COMPOSE_TIMEOUTS.get(verb, DEFAULT_COMPOSE_TIMEOUT))


class ComposeStopped(Exception):
    """skid ended a compose run before it finished (its deadline, or a cancel); `killed`: it needed SIGKILL."""

    def __init__(self, call: ComposeCall, message: str, killed: bool) -> None:
        self.call = call
        self.killed = killed
        super().__init__(message)


def how_it_ended(killed: bool) -> str:
    """How skid ended a compose run, for one-line messages."""
    return f"killed it (still running {STOP_GRACE:g} s after SIGTERM)" if killed else "stopped it"


class ComposeTimedOut(ComposeStopped):
    def __init__(self, call: ComposeCall, seconds: float, killed: bool) -> None:
        self.seconds = seconds
        super().__init__(call, f"{call.short()} did not finish within {seconds:g} s: {how_it_ended(killed)}", killed)


class ComposeCancelled(ComposeStopped):
    def __init__(self, call: ComposeCall, killed: bool) -> None:
        super().__init__(call, f"{call.short()} cancelled: {how_it_ended(killed)}", killed)


class ComposeInterrupted(KeyboardInterrupt):
    """Ctrl-C while compose ran: its child is gone; still a KeyboardInterrupt, so the command ends as one."""

    def __init__(self, call: ComposeCall, killed: bool) -> None:
        self.call = call
        self.killed = killed
        self.message = f"interrupted: {call.short()}: {how_it_ended(killed)}"
        super().__init__(self.message)


# -- the children skid started ------------------------------------------------------------------------

_PROC = os.path.isdir("/proc/self")
_children: dict[int, tuple[str, Callable[[], bool]]] = {}  # pid (= its process group) -> (command, exited)
_children_lock = threading.Lock()


def _register(pid: int, name: str, exited: Callable[[], bool]) -> None:
    with _children_lock:
        _children[pid] = (name, exited)


def _unregister(pid: int) -> None:
    with _children_lock:
        _children.pop(pid, None)


def live_children() -> dict[int, str]:
    """The compose processes skid started that are still running: pid -> command."""
    with _children_lock:
        return {pid: name for pid, (name, exited) in _children.items() if not _gone(pid, exited)}


def _alive(pid: int) -> bool:
    """The process exists and is not a zombie (a zombie has exited; only its parent's wait is missing)."""
    if _PROC:
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
        except (OSError, IndexError):
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _gone(pid: int, exited: Callable[[], bool]) -> bool:
    return exited() or not _alive(pid)


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _stop_group(pid: int, exited: Callable[[], bool], grace: float | None = None) -> bool:
    """SIGTERM to the process group, SIGKILL after `grace` seconds if its leader is still there; True if killed.

    A second Ctrl-C while waiting kills at once."""
    grace = STOP_GRACE if grace is None else grace
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    try:
        while not _gone(pid, exited) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        killed = not _gone(pid, exited)
        _signal_group(pid, signal.SIGKILL)  # the leader if it held on, or any helper it left in the group
    return killed


def end_children(grace: float | None = None) -> tuple[list[str], list[str]]:
    """End every compose process skid started that still runs (quitting): SIGTERM to all at once, SIGKILL to
    what is left after `grace` seconds. (commands stopped, commands killed)."""
    grace = STOP_GRACE if grace is None else grace
    with _children_lock:
        live = {pid: entry for pid, entry in _children.items() if not _gone(pid, entry[1])}
    for pid in live:
        _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while any(not _gone(pid, exited) for pid, (_, exited) in live.items()) and time.monotonic() < deadline:
        time.sleep(0.02)
    stopped, killed = [], []
    for pid, (name, exited) in live.items():
        (stopped if _gone(pid, exited) else killed).append(name)
        _signal_group(pid, signal.SIGKILL)
    return stopped, killed


def run_compose(call: ComposeCall, on_line: Callable[[str], None], *, timeout: float | None = None,
                cancel: threading.Event | None = None) -> int:
    """Run it, handing every output line (stdout and stderr merged) to on_line; the exit status.

    Blocking: the command line calls it directly, the dashboard on a worker thread. Past `timeout`
    (default: `call.deadline()`) the run is stopped and ComposeTimedOut raised; when `cancel` is set,
    ComposeCancelled; Ctrl-C (on the main thread) stops it too and raises ComposeInterrupted. Either way no
    compose process is left behind.
    """
    limit = call.deadline() if timeout is None else timeout
    try:
        proc = subprocess.Popen(call.argv(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env=call.environment(), bufsize=1, start_new_session=True)
    except OSError as exc:
        on_line(f"cannot run {call.tool.name}: {exc}")
        return 127
    exited = lambda: proc.poll() is not None  # noqa: E731
    _register(proc.pid, call.short(), exited)
    stdout = proc.stdout
    assert stdout is not None

    def pump() -> None:
        with contextlib.suppress(OSError, ValueError):  # the pipe closed under a stopped run
            for line in stdout:
                on_line(line.rstrip("\n"))

    # Lines are read on a thread so that this one can keep the deadline, watch `cancel` and take Ctrl-C.
    reader = threading.Thread(target=pump, name="skid-compose-output", daemon=True)
    deadline = time.monotonic() + limit
    try:
        try:
            reader.start()  # inside the try: a Ctrl-C from here on stops compose too
            while True:
                try:
                    code = proc.wait(timeout=min(CANCEL_POLL, max(0.0, deadline - time.monotonic())))
                    break
                except subprocess.TimeoutExpired:
                    cancelled = cancel is not None and cancel.is_set()
                    if not cancelled and time.monotonic() < deadline:
                        continue
                killed = _stop_group(proc.pid, exited)
                proc.wait()
                reader.join(timeout=1)  # what compose said before it went
                if cancelled:
                    raise ComposeCancelled(call, killed)
                raise ComposeTimedOut(call, limit, killed)
        except KeyboardInterrupt:
            try:
                killed = _stop_group(proc.pid, exited)
            except KeyboardInterrupt:  # a second Ctrl-C: no more waiting
                _signal_group(proc.pid, signal.SIGKILL)
                killed = True
            proc.wait()
            raise ComposeInterrupted(call, killed) from None
        reader.join()
        return code
    finally:
        _unregister(proc.pid)
        stdout.close()


def last_error(lines: Sequence[str]) -> str:
    """The line of compose's output that names the failure (it prints the error last)."""
    for line in reversed(lines):
        text = line.strip()
        if text and ("error" in text.lower() or "failed" in text.lower() or "no such" in text.lower()):
            return text
    return next((x.strip() for x in reversed(lines) if x.strip()), "")
