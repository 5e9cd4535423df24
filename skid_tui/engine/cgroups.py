"""The fast path: a container's memory, CPU, pids and network read straight from its cgroup files.

About 50 times cheaper than the engine's stats stream (no engine work at all), and the same numbers.
Only where the engine runs on this kernel and the files are readable (Docker Engine or Podman on
Linux, as root or the owning user); never on Docker Desktop's VM or a remote engine. The container's
host PID names its cgroup through /proc/PID/cgroup; the path must contain the container's id, so a PID
from another namespace (Docker Desktop) or a reused PID is never mistaken for the container.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from skid_tui.engine.stats import StatsSample, cpu_percent, with_rates

UNLIMITED = 1 << 60  # cgroup v1 writes "no limit" as a page-rounded LONG_MAX


@dataclass(frozen=True)
class Mount:
    root: str  # the part of the hierarchy mounted here (usually "/")
    point: Path


def parse_mountinfo(text: str) -> dict[str, Mount]:
    """cgroup mounts by controller ("memory", "cpuacct", "pids"...); cgroup v2 under "unified"."""
    mounts: dict[str, Mount] = {}
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3:
            continue
        fstype, options = tail[0], tail[2].split(",")
        mount = Mount(fields[3], Path(fields[4].replace("\\040", " ")))
        if fstype == "cgroup2":
            mounts.setdefault("unified", mount)
        elif fstype == "cgroup":
            for option in options:
                if option not in ("rw", "ro") and "=" not in option:
                    mounts.setdefault(option, mount)
    return mounts


def parse_proc_cgroup(text: str) -> dict[str, str]:
    """Controller -> cgroup path from /proc/PID/cgroup; the v2 line ("0::/path") under "unified"."""
    paths: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if not controllers:
            paths["unified"] = path
        for c in controllers.split(","):
            if c:
                paths[c] = path
    return paths


def _join(mount: Mount, path: str) -> Path:
    if mount.root != "/" and path.startswith(mount.root):
        path = path[len(mount.root) :]
    return mount.point / path.lstrip("/")


@dataclass(frozen=True)
class CgroupPaths:
    version: int
    mem_usage: Path
    mem_stat: Path
    mem_limit: Path
    cpu_usage: Path
    pids: Path | None
    net_dev: Path
    oom: Path | None = None  # the OOM kill counter: v1 memory.oom_control, v2 memory.events


def locate(pid: int, container_id: str, proc: Path = Path("/proc"), mountinfo: str | None = None) -> CgroupPaths:
    """The container's cgroup files, or OSError/LookupError when they cannot be used."""
    if pid <= 0:
        raise LookupError("the container has no host PID")
    cgroups = parse_proc_cgroup((proc / str(pid) / "cgroup").read_text())
    mounts = parse_mountinfo(mountinfo if mountinfo is not None else (proc / "self" / "mountinfo").read_text())
    if "memory" in cgroups and "memory" in mounts:
        mem_path = cgroups["memory"]
        cpu_key = "cpuacct" if "cpuacct" in cgroups and "cpuacct" in mounts else "cpu"
        if container_id not in mem_path or cpu_key not in mounts:
            raise LookupError(f"PID {pid} is not in the container's cgroup ({mem_path})")
        mem = _join(mounts["memory"], mem_path)
        has_pids = "pids" in cgroups and "pids" in mounts
        pids = _join(mounts["pids"], cgroups["pids"]) / "pids.current" if has_pids else None
        paths = CgroupPaths(1, mem / "memory.usage_in_bytes", mem / "memory.stat", mem / "memory.limit_in_bytes",
                            _join(mounts[cpu_key], cgroups[cpu_key]) / "cpuacct.usage", pids,
                            proc / str(pid) / "net" / "dev", mem / "memory.oom_control")
    elif "unified" in cgroups and "unified" in mounts:
        path = cgroups["unified"]
        if container_id not in path:
            raise LookupError(f"PID {pid} is not in the container's cgroup ({path})")
        base = _join(mounts["unified"], path)
        paths = CgroupPaths(2, base / "memory.current", base / "memory.stat", base / "memory.max", base / "cpu.stat",
                            base / "pids.current", proc / str(pid) / "net" / "dev", base / "memory.events")
    else:
        raise LookupError("no memory cgroup found for the container")
    return paths


def stat_value(text: bytes, key: bytes) -> int:
    """One counter from memory.stat / cpu.stat ("key value" lines)."""
    start = text.find(b"\n" + key + b" ")
    if start < 0:
        if not text.startswith(key + b" "):
            return 0
        start = -1
    start += len(key) + 2
    end = text.find(b"\n", start)
    return int(text[start : end if end >= 0 else None])


def net_dev_totals(text: bytes) -> tuple[int, int]:
    rx = tx = 0
    for line in text.splitlines()[2:]:
        name, _, counters = line.partition(b":")
        if name.strip() == b"lo":
            continue
        fields = counters.split()
        if len(fields) >= 9:
            rx += int(fields[0])
            tx += int(fields[8])
    return rx, tx


def oom_kills(text: bytes) -> int | None:
    """The `oom_kill` counter of memory.events (v2) or memory.oom_control (v1); None when the kernel has none."""
    if not text.startswith(b"oom_kill ") and b"\noom_kill " not in text:
        return None
    return stat_value(text, b"oom_kill")


def parse_limit(raw: bytes) -> int:
    """memory.max (v2, "max" when unlimited) or memory.limit_in_bytes (v1, a huge number) -> bytes."""
    raw = raw.strip()
    return UNLIMITED if raw == b"max" else int(raw)


def counters_sample(container_id: str, at: float, wall_ns: int, previous: StatsSample | None, *, usage: int,
                    inactive: int, limit: int, cpu_ns: int, pids: int, net: tuple[int, int] | None,
                    oom: int | None, mem_total: int, source: str) -> tuple[StatsSample, bool]:
    """A sample from one reading of a cgroup's counters (read here, or by the agent in the engine's VM),
    and whether it becomes the next reading's baseline: `docker stats`' memory, CPU% over wall time."""
    prev = previous
    # Readings closer than 0.1 s make a noisy CPU%: keep the older baseline and report none this time.
    too_soon = prev is not None and wall_ns - prev.system_ns < 100_000_000
    if too_soon:
        prev = None
    rx, tx = net if net is not None else (prev.net_rx if prev else 0, prev.net_tx if prev else 0)
    sample = with_rates(
        StatsSample(
            container_id=container_id,
            at=at,
            mem_used=usage - inactive if inactive < usage else usage,
            mem_limit=mem_total if limit >= UNLIMITED else limit,
            cpu_percent=cpu_percent(cpu_ns - prev.cpu_total_ns, wall_ns - prev.system_ns, 1) if prev else None,
            cpu_total_ns=cpu_ns,
            system_ns=wall_ns,
            net_rx=rx,
            net_tx=tx,
            pids=pids,
            source=source,
            cpu_window=(wall_ns - prev.system_ns) / 1e9 if prev else None,
            oom_kills=oom,
        ),
        prev,
    )
    return sample, not too_soon


class CgroupReader:
    """Keeps the container's cgroup files open and reads them once per tick (pread: no reopen, no path walk)."""

    def __init__(self, container_id: str, paths: CgroupPaths, mem_total: int) -> None:
        self.container_id = container_id
        self.paths = paths
        self.mem_total = mem_total
        self._fds: dict[str, int] = {}
        self.previous: StatsSample | None = None
        try:
            for name in ("mem_usage", "mem_stat", "mem_limit", "cpu_usage", "pids", "net_dev"):
                path = getattr(paths, name)
                if path is not None:
                    self._fds[name] = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            if paths.oom is not None:
                # Kernels before 4.13 have no oom_kill line in v1's oom_control: then no counter, no error.
                with contextlib.suppress(OSError):
                    self._fds["oom"] = os.open(paths.oom, os.O_RDONLY | os.O_CLOEXEC)
            self.read()  # prove the files answer before anyone relies on them
        except BaseException:
            self.close()
            raise

    def _read(self, name: str) -> bytes:
        return os.pread(self._fds[name], 65536, 0)

    def read(self) -> StatsSample:
        """A sample now; OSError/ValueError when the cgroup went away (the container stopped)."""
        at = time.monotonic()
        usage = int(self._read("mem_usage"))
        stat = self._read("mem_stat")
        v1 = self.paths.version == 1
        inactive = stat_value(stat, b"total_inactive_file" if v1 else b"inactive_file")
        limit = parse_limit(self._read("mem_limit"))
        cpu = int(self._read("cpu_usage")) if v1 else stat_value(self._read("cpu_usage"), b"usage_usec") * 1000
        pids = int(self._read("pids")) if "pids" in self._fds else 0
        rx, tx = net_dev_totals(self._read("net_dev"))
        oom = oom_kills(self._read("oom")) if "oom" in self._fds else None
        sample, keep = counters_sample(self.container_id, at, time.monotonic_ns(), self.previous, usage=usage,
                                       inactive=inactive, limit=limit, cpu_ns=cpu, pids=pids, net=(rx, tx),
                                       oom=oom, mem_total=self.mem_total, source="cgroup")
        if keep:
            self.previous = sample
        return sample

    def close(self) -> None:
        for fd in self._fds.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds.clear()
