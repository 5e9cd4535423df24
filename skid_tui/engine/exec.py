"""Commands in a running container through the Engine API (exec create, start, inspect), as `docker exec` runs
them: a quiet probe (is there a bash?), and an attached session: the host terminal in raw mode when there is
one (the container gets a tty of the same size, resized with it), stdin, stdout and stderr copied both ways,
and the command's exit status. Blocking: the caller's thread is the session's.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import struct
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

import docker.errors

from skid_tui.engine.client import ENGINE_ERRORS, Engine

READ_SIZE = 65536
EXIT_CODE_WAIT = 5.0  # seconds the engine may take to record the exit code once the stream ended


class ExecFailed(Exception):
    """The engine would not run the command (no such container, not running, no such program)."""


def has_program(engine: Engine, container_id: str, program: str) -> bool:
    """Whether `program -c 'exit 0'` runs in the container (a shell's probe): quiet, no tty, a second at most."""
    try:
        exec_id = engine.api.exec_create(container_id, [program, "-c", "exit 0"], stdout=True, stderr=True)["Id"]
        engine.api.exec_start(exec_id)
        return _exit_code(engine, exec_id, wait=2.0) == 0
    except ENGINE_ERRORS:
        return False


def _exit_code(engine: Engine, exec_id: str, wait: float = EXIT_CODE_WAIT) -> int | None:
    deadline = time.monotonic() + wait
    while True:
        info = engine.api.exec_inspect(exec_id)
        if not info.get("Running") and info.get("ExitCode") is not None:
            return int(info["ExitCode"])
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.05)


def _raw_socket(sock: Any) -> socket.socket:
    """docker-py hands back the response's socket (a SocketIO on a unix socket): the socket itself, blocking."""
    raw = getattr(sock, "_sock", sock)
    raw.settimeout(None)  # the client's request timeout must not end a quiet shell
    return raw


def terminal_size(fd: int) -> tuple[int, int] | None:
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return None
    return size.lines, size.columns


class _Demux:
    """The multiplexed stream of an exec without a tty: 8-byte headers (stream, length), then the payload."""

    def __init__(self) -> None:
        self.buffer = b""

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self.buffer += data
        out = []
        while len(self.buffer) >= 8:
            stream, size = struct.unpack(">BxxxL", self.buffer[:8])
            if len(self.buffer) < 8 + size:
                break
            out.append((stream, self.buffer[8:8 + size]))
            self.buffer = self.buffer[8 + size:]
        return out


def run_session(engine: Engine, container_id: str, command: Sequence[str], *, tty: bool | None = None,
                stdin_fd: int | None = None, stdout_fd: int | None = None, stderr_fd: int | None = None) -> int:
    """Run the command attached to this process's terminal (or pipes) until it ends; its exit status.

    tty None: a tty when stdin is a terminal. With a tty the host terminal is put in raw mode for the
    session (every key, Ctrl-C included, goes to the container) and restored afterwards."""
    stdin_fd = sys.stdin.fileno() if stdin_fd is None else stdin_fd
    stdout_fd = sys.stdout.fileno() if stdout_fd is None else stdout_fd
    stderr_fd = sys.stderr.fileno() if stderr_fd is None else stderr_fd
    if tty is None:
        tty = os.isatty(stdin_fd)
    api = engine.api
    env = [f"TERM={os.environ.get('TERM', 'xterm')}"] if tty else None
    try:
        exec_id = api.exec_create(container_id, list(command), stdin=True, tty=tty, environment=env)["Id"]
        sock = api.exec_start(exec_id, socket=True, tty=tty)
    except docker.errors.APIError as exc:
        raise ExecFailed(str(exc.explanation or exc)) from None
    raw = _raw_socket(sock)
    size = terminal_size(stdout_fd) if tty else None
    wake_r, wake_w = os.pipe()
    previous_winch: Any = None
    on_main = threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGWINCH")
    try:
        if size is not None:
            _resize(engine, exec_id, size)
            if on_main:
                previous_winch = signal.signal(signal.SIGWINCH, lambda *_: os.write(wake_w, b"w"))
        with _raw_mode(stdin_fd if tty else None):
            size = _pump(raw, stdin_fd, stdout_fd, stderr_fd, tty, wake_r, engine, exec_id, size, poll=not on_main)
    finally:
        if previous_winch is not None:
            signal.signal(signal.SIGWINCH, previous_winch)
        for fd in (wake_r, wake_w):
            os.close(fd)
        with contextlib.suppress(OSError):
            raw.close()
        with contextlib.suppress(Exception):
            sock.close()
    code = _exit_code(engine, exec_id)
    return 1 if code is None else code


def _resize(engine: Engine, exec_id: str, size: tuple[int, int]) -> None:
    with contextlib.suppress(*ENGINE_ERRORS):
        engine.api.exec_resize(exec_id, height=size[0], width=size[1])


@contextlib.contextmanager
def _raw_mode(fd: int | None):
    if fd is None or not os.isatty(fd):
        yield
        return
    import termios  # not on Windows
    import tty

    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _pump(raw: socket.socket, stdin_fd: int, stdout_fd: int, stderr_fd: int, tty: bool, wake_r: int,  # noqa: PLR0917
          engine: Engine, exec_id: str, size: tuple[int, int] | None, poll: bool) -> tuple[int, int] | None:
    """Copy both ways until the container closes the stream. stdin's end half-closes the socket (the
    command sees its input end); a resized terminal resizes the exec's tty."""
    demux = None if tty else _Demux()
    reading_stdin = True
    while True:
        watched = [raw, wake_r] + ([stdin_fd] if reading_stdin else [])
        ready, _, _ = select.select(watched, [], [], 0.25 if poll and size is not None else None)
        if size is not None and (wake_r in ready or poll):
            if wake_r in ready:
                os.read(wake_r, 64)
            now = terminal_size(stdout_fd)
            if now is not None and now != size:
                size = now
                _resize(engine, exec_id, size)
        if raw in ready:
            data = raw.recv(READ_SIZE)
            if not data:
                return size
            if demux is None:
                _write_all(stdout_fd, data)
            else:
                for stream, payload in demux.feed(data):
                    _write_all(stderr_fd if stream == 2 else stdout_fd, payload)
        if reading_stdin and stdin_fd in ready:
            data = os.read(stdin_fd, READ_SIZE)
            if data:
                raw.sendall(data)
            else:
                reading_stdin = False
                with contextlib.suppress(OSError):
                    raw.shutdown(socket.SHUT_WR)


def find_shell(engine: Engine, container_id: str, shells: Sequence[str] = ("bash", "sh")) -> str | None:
    """The first of the shells the container has, else None."""
    return next((s for s in shells if has_program(engine, container_id, s)), None)


