"""Engines that misbehave, on unix sockets of the test's own: one that never answers, one that answers slowly.

`HungEngine` accepts connections and never sends a byte (a wedged daemon, a dead VM behind a socket
forwarder). `SlowEngine` relays every request to the real private engine and sends each chunk of its
answer `delay` seconds late (an overloaded Docker Desktop VM): everything works, slowly.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from pathlib import Path

REAL_ENGINE = os.environ.get("DOCKER_HOST", "unix:///tmp/skid-engine/docker.sock")


class _Server:
    def __init__(self, directory: Path, name: str) -> None:
        # A short path: unix socket paths are limited to about 100 bytes.
        self.path = directory / name
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(self.path))
        self.sock.listen(64)
        self.url = f"unix://{self.path}"
        self._conns: list[socket.socket] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> _Server:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped.set()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        for c in list(self._conns):
            with contextlib.suppress(OSError):
                c.close()
        self._thread.join(timeout=2)

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self._conns.append(conn)
            self.handle(conn)

    def handle(self, conn: socket.socket) -> None:
        raise NotImplementedError


class HungEngine(_Server):
    """Accepts, reads nothing, answers nothing, closes nothing."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory, "hung.sock")

    def handle(self, conn: socket.socket) -> None:
        return  # held open in self._conns until the test ends


class SlowEngine(_Server):
    """The real engine behind a relay that waits `delay` seconds before each chunk it sends back."""

    def __init__(self, directory: Path, delay: float = 2.0, upstream: str = REAL_ENGINE) -> None:
        super().__init__(directory, "slow.sock")
        self.delay = delay
        self.upstream = upstream.removeprefix("unix://")
        self.chunks = 0  # chunks relayed back, so a test can tell the relay was used

    def handle(self, conn: socket.socket) -> None:
        up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            up.connect(self.upstream)
        except OSError:
            conn.close()  # the real engine is not there: neither is this one
            up.close()
            return
        self._conns.append(up)
        threading.Thread(target=self._pipe, args=(conn, up, 0.0), daemon=True).start()
        threading.Thread(target=self._pipe, args=(up, conn, self.delay), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, delay: float) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if delay:
                    time.sleep(delay)
                    self.chunks += 1
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)


def process_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def processes_with(needle: str) -> list[int]:
    """Pids of live processes whose command line contains `needle` (the test's unique project name)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in cmdline and process_alive(int(entry.name)):
            found.append(int(entry.name))
    return found


FAKE_COMPOSE = """#!/bin/sh
# A compose tool that answers `version` and then hangs on every command, leaving its pid and its
# child's pid behind (a child, so a test sees whether the whole process group went).
case "$*" in *version*) echo "Docker Compose version v2.99.0"; exit 0;; esac
echo "fake compose: $*"
{trap}
sleep 100000 &
echo "$$ $!" > "{pids}"
wait
"""


def fake_compose(directory: Path, *, ignore_term: bool = False) -> tuple[Path, Path]:
    """(the script, the file it writes `PID CHILD_PID` to). With ignore_term it shrugs off SIGTERM."""
    script, pids = directory / "fake-compose", directory / "compose.pids"
    trap = "trap '' TERM" if ignore_term else ""  # inherited by the sleep: only SIGKILL ends them
    script.write_text(FAKE_COMPOSE.format(pids=pids, trap=trap))
    script.chmod(0o755)
    return script, pids


def read_pids(pids: Path, timeout: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = pids.read_text() if pids.exists() else ""
        if len(text.split()) == 2 and text.endswith("\n"):
            return [int(x) for x in text.split()]
        time.sleep(0.05)
    raise AssertionError(f"the fake compose never wrote its pids to {pids}")
