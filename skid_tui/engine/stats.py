"""Container resource samples and the docker CLI's formulas, for Engine API payloads and cgroup reads.

CPU% = Δ container CPU time / Δ system CPU time x online CPUs x 100, so 100% is one full core (the API
path); on the cgroup path Δ container CPU time / Δ wall time x 100, which is the same number. Memory used
= usage - inactive_file (cgroup v2) or usage - total_inactive_file (cgroup v1), as `docker stats` shows it.

Podman's Docker-compatible stats stream sends a reading every 5 s whatever `interval` says, and its system
CPU time counts busy time only (a half-CPU burner reads 105-153% by the formula above). On Podman skid reads
its own stats stream instead (`/libpod/containers/stats`, every second): CPU% = Δ container CPU time /
Δ wall time x 100, as `podman stats` computes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

StatsSource = str  # "cgroup" (direct reads) or "api" (the engine's stats stream)


@dataclass(frozen=True)
class StatsSample:
    """One reading of one container. Counters are kept raw so the next reading can make rates."""

    container_id: str
    at: float  # monotonic seconds when read
    mem_used: int
    mem_limit: int  # bytes; the engine's total memory when the container has no limit
    cpu_percent: float | None  # None until two readings exist (a first API sample has no precpu)
    cpu_total_ns: int  # cumulative container CPU time
    system_ns: int  # cumulative system CPU time (API) or wall time (cgroup)
    net_rx: int  # cumulative bytes, every interface but lo
    net_tx: int
    pids: int
    source: StatsSource
    net_rx_bps: float | None = None
    net_tx_bps: float | None = None
    cpu_window: float | None = None  # seconds the CPU% spans (a short first window is noisier)
    # The kernel's count of OOM kills in the container's cgroup since it started (cgroup path only: v2
    # memory.events, v1 memory.oom_control `oom_kill`); None where it cannot be read.
    oom_kills: int | None = None


def memory_used(memory_stats: Mapping[str, Any]) -> int:
    """`docker stats` memory: usage minus inactive page cache (v1: total_inactive_file, v2: inactive_file).

    Podman gives no `stats` at all: then usage is all there is.
    """
    usage = int(memory_stats.get("usage") or 0)
    stats = memory_stats.get("stats") or {}
    if "total_inactive_file" in stats:
        inactive = int(stats["total_inactive_file"] or 0)
    elif "inactive_file" in stats:
        inactive = int(stats["inactive_file"] or 0)
    else:
        inactive = 0
    return usage - inactive if inactive < usage else usage


def online_cpus(cpu_stats: Mapping[str, Any]) -> int:
    """online_cpus, falling back to the per-CPU list (absent on cgroup v2), then 1."""
    online = cpu_stats.get("online_cpus")
    if online:
        return int(online)
    percpu = (cpu_stats.get("cpu_usage") or {}).get("percpu_usage") or []
    return len(percpu) or 1


def cpu_percent(cpu_delta: int, system_delta: int, cpus: int) -> float | None:
    if system_delta <= 0 or cpu_delta < 0:
        return None
    return cpu_delta / system_delta * cpus * 100.0


def rate(current: int, previous: int, seconds: float) -> float | None:
    if seconds <= 0 or current < previous:  # a counter reset (container restarted): no rate this time
        return None
    return (current - previous) / seconds


def network_totals(networks: Mapping[str, Any] | None) -> tuple[int, int]:
    rx = tx = 0
    for name, n in (networks or {}).items():
        if name == "lo":
            continue
        rx += int(n.get("rx_bytes") or 0)
        tx += int(n.get("tx_bytes") or 0)
    return rx, tx


def sample_from_api(
    payload: Mapping[str, Any], previous: StatsSample | None, at: float, container_id: str
) -> StatsSample | None:
    """A sample from one `GET /containers/{id}/stats` payload; None for the zero payloads a stopped
    container's stream keeps sending.

    CPU comes from the payload's own precpu when the engine fills it (Docker), else from our previous
    sample (Podman sends zero precpu; a first sample has none at all).
    """
    if str(payload.get("read", "")).startswith("0001-01-01"):
        return None
    mem = payload.get("memory_stats") or {}
    cpu = payload.get("cpu_stats") or {}
    pre = payload.get("precpu_stats") or {}
    total = int((cpu.get("cpu_usage") or {}).get("total_usage") or 0)
    system = int(cpu.get("system_cpu_usage") or 0)
    pre_total = int((pre.get("cpu_usage") or {}).get("total_usage") or 0)
    pre_system = int(pre.get("system_cpu_usage") or 0)
    cpus = online_cpus(cpu)
    percent = window = None
    if pre_total and pre_system:
        percent = cpu_percent(total - pre_total, system - pre_system, cpus)
        window = (system - pre_system) / cpus / 1e9  # system time counts every CPU
    elif previous is not None and previous.system_ns and previous.source == "api":
        percent = cpu_percent(total - previous.cpu_total_ns, system - previous.system_ns, cpus)
        window = (system - previous.system_ns) / cpus / 1e9
    rx, tx = network_totals(payload.get("networks"))
    return with_rates(
        StatsSample(
            container_id=container_id,
            at=at,
            mem_used=memory_used(mem),
            mem_limit=int(mem.get("limit") or 0),
            cpu_percent=percent,
            cpu_total_ns=total,
            system_ns=system,
            net_rx=rx,
            net_tx=tx,
            pids=int((payload.get("pids_stats") or {}).get("current") or 0),
            source="api",
            cpu_window=window if percent is not None else None,
        ),
        previous,
    )


def with_rates(sample: StatsSample, previous: StatsSample | None) -> StatsSample:
    """Network rates from the previous sample of the same container."""
    if previous is None or previous.container_id != sample.container_id:
        return sample
    seconds = sample.at - previous.at
    return replace(
        sample,
        net_rx_bps=rate(sample.net_rx, previous.net_rx, seconds),
        net_tx_bps=rate(sample.net_tx, previous.net_tx, seconds),
    )


def sample_from_libpod(
    report: Mapping[str, Any], previous: StatsSample | None, at: float, container_id: str
) -> StatsSample:
    """A sample from one report of Podman's `GET /libpod/containers/stats` stream (one container's entry of
    its `Stats` list). SystemNano is wall time, so CPU% is Δ CPU time / Δ wall time x 100."""
    total = int(report.get("CPUNano") or 0)
    wall = int(report.get("SystemNano") or 0)
    percent = window = None
    if previous is not None and previous.source == "api" and previous.system_ns and wall > previous.system_ns:
        window = (wall - previous.system_ns) / 1e9
        percent = cpu_percent(total - previous.cpu_total_ns, wall - previous.system_ns, 1)
    return with_rates(
        StatsSample(
            container_id=container_id,
            at=at,
            mem_used=int(report.get("MemUsage") or 0),
            mem_limit=int(report.get("MemLimit") or 0),
            cpu_percent=percent,
            cpu_total_ns=total,
            system_ns=wall,
            net_rx=int(report.get("NetInput") or 0),
            net_tx=int(report.get("NetOutput") or 0),
            pids=int(report.get("PIDs") or 0),
            source="api",
            cpu_window=window,
        ),
        previous,
    )
