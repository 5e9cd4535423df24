"""When a container's main process may have ended: what a log file's reader asks before the engine."""

from __future__ import annotations

import contextlib
import os
import select
import time
from pathlib import Path

from skid_tui.engine.cgroups import parse_proc_cgroup


class ExitWatch:
    """Says cheaply when a container's main process may have ended, so the engine is asked only then: a pidfd
    when the PID is provably the container's (its cgroup names the container), else a look every second."""

    def __init__(self, container_id: str, pid: int) -> None:
        self._fd = -1
        self._asked = 0.0
        self._gone = False
        if pid <= 0 or not hasattr(os, "pidfd_open"):
            return
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            self._gone = True
            return
        except OSError:
            return
        try:
            cgroups = parse_proc_cgroup(Path(f"/proc/{pid}/cgroup").read_text())
        except OSError:
            cgroups = {}
        if any(container_id in path for path in cgroups.values()):
            self._fd = fd  # read after the pidfd was opened: a reused PID cannot pass
        else:
            os.close(fd)

    def maybe_exited(self) -> bool:
        now = time.monotonic()
        if self._fd >= 0 and not self._gone:
            self._gone = bool(select.select([self._fd], [], [], 0)[0])
            if not self._gone:
                return False
        # ended (the engine may still be writing its last lines), or unknowable: ask, but not at every poll
        if now - self._asked < (0.2 if self._gone else 1.0):
            return False
        self._asked = now
        return True

    def close(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = -1
