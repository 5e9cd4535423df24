"""The kernel's OOM notification for each container skid reads through its cgroup.

A once-a-second read of the OOM kill counter misses the kill that ends a container: its cgroup goes away
with it, milliseconds later, and Podman sends no `oom` event nor sets `OOMKilled`. The kernel notifies
an OOM in a cgroup as it happens, before the kill: on cgroup v1 through an eventfd registered in
`cgroup.event_control` against `memory.oom_control`, on v2 by marking `memory.events` modified (poll it
for POLLPRI). On each notification this thread reads the counter again, a few times over the next
100 ms, until the kill shows; the cgroup is still there then (the runtime removes it later).
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from skid_tui.engine.cgroups import CgroupPaths, oom_kills, stat_value

SETTLE = (0.0, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1)  # seconds after a notification at which the counter is read


@dataclass
class _Watched:
    container_id: str
    counter_fd: int  # memory.oom_control (v1) or memory.events (v2)
    wake_fd: int  # what poll() waits on: the eventfd (v1), or counter_fd itself (v2)
    version: int
    count: int
    ooms: int  # v2: memory.events `oom`, which rises before the kill (its other lines change far more often)


class OomWatch:
    """Calls `on_kill(container_id, counter)` from its own thread when a watched cgroup's kill counter rises."""

    def __init__(self, on_kill: Callable[[str, int], None]) -> None:
        self.on_kill = on_kill
        self._lock = threading.Lock()
        self._by_fd: dict[int, _Watched] = {}
        self._by_id: dict[str, _Watched] = {}
        self._poll = select.poll()
        self._pipe_r, self._pipe_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._poll.register(self._pipe_r, select.POLLIN)
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="skid-oom-watch", daemon=True)
        self._thread.start()

    def add(self, container_id: str, paths: CgroupPaths) -> bool:
        """Watch this container's cgroup; False when the kernel offers no notification for it."""
        if paths.oom is None:
            return False
        counter_fd = wake_fd = -1
        try:
            counter_fd = os.open(paths.oom, os.O_RDONLY | os.O_CLOEXEC)
            text = os.pread(counter_fd, 4096, 0)
            count = oom_kills(text)
            if count is None:
                raise OSError(errno.ENOTSUP, "no oom_kill counter")
            if paths.version == 1:
                wake_fd = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
                control = paths.oom.parent / "cgroup.event_control"
                with open(control, "w") as f:
                    f.write(f"{wake_fd} {counter_fd}")
                events = select.POLLIN
            else:
                wake_fd = counter_fd
                events = select.POLLPRI | select.POLLERR
        except (OSError, ValueError):
            for fd in {counter_fd, wake_fd} - {-1}:
                with contextlib.suppress(OSError):
                    os.close(fd)
            return False
        watched = _Watched(container_id, counter_fd, wake_fd, paths.version, count,
                           stat_value(text, b"oom") if paths.version == 2 else 0)
        with self._lock:
            if self._stopped or container_id in self._by_id:
                self._close(watched)
                return container_id in self._by_id
            self._by_id[container_id] = watched
            self._by_fd[wake_fd] = watched
            self._poll.register(wake_fd, events)
        self._wake()  # a poll() under way knows only the fds it started with: begin another one now
        return True

    def remove(self, container_id: str) -> None:
        with self._lock:
            watched = self._by_id.pop(container_id, None)
            if watched is None:
                return
            self._by_fd.pop(watched.wake_fd, None)
            with contextlib.suppress(KeyError, ValueError):
                self._poll.unregister(watched.wake_fd)
        self._close(watched)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            ids = list(self._by_id)
        for cid in ids:
            self.remove(cid)
        self._wake()
        self._thread.join(timeout=2)
        for fd in (self._pipe_r, self._pipe_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    @property
    def watched(self) -> set[str]:
        with self._lock:
            return set(self._by_id)

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # a full pipe already holds a wake-up
            os.write(self._pipe_w, b"x")

    # -- the thread ---------------------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            try:
                ready = self._poll.poll()
            except (OSError, ValueError):
                return
            with self._lock:
                if self._stopped:
                    return
                woken = [self._by_fd[fd] for fd, _ in ready if fd in self._by_fd]
            if any(fd == self._pipe_r for fd, _ in ready):
                with contextlib.suppress(OSError):
                    os.read(self._pipe_r, 4096)
            for watched in woken:
                self._notified(watched)

    def _notified(self, watched: _Watched) -> None:
        if watched.version == 1:  # its eventfd fires for an OOM (or the cgroup's removal) only
            with contextlib.suppress(OSError):
                os.eventfd_read(watched.wake_fd)
        elif not self._v2_oom(watched):
            return  # a `high` or `max` event of a container near its limit: nothing to wait for
        started = time.monotonic()
        for at in SETTLE:
            delay = started + at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            try:
                count = oom_kills(os.pread(watched.counter_fd, 4096, 0))
            except OSError:
                # The cgroup is gone (the container ended; v1 notifies its removal too): nothing more to read.
                self.remove(watched.container_id)
                return
            if count is not None and count > watched.count:
                watched.count = count
                self.on_kill(watched.container_id, count)
                return

    def _v2_oom(self, watched: _Watched) -> bool:
        try:
            ooms = stat_value(os.pread(watched.counter_fd, 4096, 0), b"oom")
        except OSError:
            self.remove(watched.container_id)
            return False
        if ooms <= watched.ooms:
            return False
        watched.ooms = ooms
        return True

    @staticmethod
    def _close(watched: _Watched) -> None:
        for fd in {watched.counter_fd, watched.wake_fd}:
            with contextlib.suppress(OSError):
                os.close(fd)
