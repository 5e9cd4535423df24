"""The live model: containers, samples, peaks and OOM kills per service; totals against the budgets.

Owned by one thread (the UI's event loop, or the monitor's loop), which applies the watcher's updates
in order. Readers get frozen snapshots (ServiceResources, Totals).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

import psutil

from skid_tui.engine.containers import ContainerSnapshot
from skid_tui.engine.sampler import StatsBatch
from skid_tui.engine.stats import StatsSample
from skid_tui.engine.watcher import EngineStatus, ServiceUpdate, WatchUpdate
from skid_tui.model.budget import BudgetState, budget_state
from skid_tui.model.peaks import PeakStore
from skid_tui.model.series import Mark, Reading
from skid_tui.stack import Budget, Profile, Stack, format_bytes

RING = 120  # samples kept per service: two minutes at one a second
HOST_HINT_AT = 0.8  # host memory use at which the dashboard names what to stop
IDLE_CPU_PERCENT = 2.0  # an on-demand service below this much CPU is idle (its idle timeout runs)
OOM_EVENT_SLACK = timedelta(seconds=3)  # an oom event this recent is the kill the counter now shows
AT_LIMIT = 0.9  # a SIGKILL exit (137) after a reading this close to the memory limit is the OOM killer's


class HistorySink(Protocol):
    """Where readings and marks go to be kept (model.history.HistoryRecorder): cheap, from the model's thread."""

    def add(self, reading: Reading) -> None: ...

    def mark(self, mark: Mark) -> None: ...


@dataclass(frozen=True)
class HostMemory:
    total: int
    available: int

    @property
    def used(self) -> int:
        return self.total - self.available

    @property
    def fraction(self) -> float:
        return self.used / self.total if self.total else 0.0


def read_host_memory() -> HostMemory:
    vm = psutil.virtual_memory()
    return HostMemory(int(vm.total), int(vm.available))


@dataclass
class ServiceUsage:
    """What one service has used since skid started watching it (across restarts of its container)."""

    samples: deque[StatsSample] = field(default_factory=lambda: deque(maxlen=RING))
    peak_mem: int | None = None
    # The last OOM kill: sticky until the container starts again. A kill that happened before skid watched
    # (the kernel's counter was above zero at the first reading) has no time: oom_at is then when skid saw it
    # and oom_time_known False.
    oom_at: datetime | None = None
    oom_time_known: bool = True
    oom_kills: int = 0  # kills counted since skid started watching (and those before, from the counter)
    oom_counters: dict[str, int] = field(default_factory=dict)  # container id -> kernel counter last read
    last: StatsSample | None = None
    # The drawn histories of the container sampled last, kept as the samples arrive: a panel reads them
    # every second, and filtering the ring for them each time was a tenth of the dashboard's CPU.
    history_of: str | None = None
    mem_history: deque[int] = field(default_factory=lambda: deque(maxlen=RING))
    cpu_history: deque[float] = field(default_factory=lambda: deque(maxlen=RING))

    def record(self, sample: StatsSample) -> None:
        """A reading of the service's drawn container: into the ring and the histories."""
        self.samples.append(sample)
        self.last = sample
        if self.history_of != sample.container_id:
            self.history_of = sample.container_id
            self.mem_history.clear()
            self.cpu_history.clear()
        self.mem_history.append(sample.mem_used)
        self.cpu_history.append(sample.cpu_percent or 0.0)

    def kill(self, at: datetime, count: int = 1, known: bool = True) -> None:
        self.oom_kills += count
        self.oom_at, self.oom_time_known = at, known


@dataclass(frozen=True)
class ServiceResources:
    """One service's row: the numbers `skid monitor --json` prints and a panel draws."""

    service: str
    container: str | None  # short id of the container sampled
    state: str
    running: bool
    cpu_percent: float | None
    cpu_limit: float | None
    mem_bytes: int | None
    mem_limit_bytes: int | None
    mem_standard_bytes: int | None
    mem_max_bytes: int | None
    budget_state: BudgetState | None
    peak_mem_bytes: int | None  # since skid started watching
    recorded_peak_bytes: int | None  # the highest ever seen, from the state file
    net_rx_bps: float | None
    net_tx_bps: float | None
    pids: int | None
    oom_at: datetime | None
    mem_history: tuple[int, ...] = ()
    oom_kills: int = 0
    oom_time_known: bool = True
    cpu_history: tuple[float, ...] = ()
    source: str | None = None

    def to_json(self) -> dict[str, Any]:
        keys = ("service", "container", "state", "cpu_percent", "cpu_limit", "mem_bytes", "mem_limit_bytes",
                "mem_standard_bytes", "mem_max_bytes", "budget_state", "peak_mem_bytes", "net_rx_bps",
                "net_tx_bps", "pids", "oom_kills")
        out = {k: getattr(self, k) for k in keys}
        for k in ("cpu_percent", "net_rx_bps", "net_tx_bps"):
            if out[k] is not None:
                out[k] = round(out[k], 2)
        out["oom_at"] = self.oom_at.isoformat() if self.oom_at else None
        out["recorded_peak_bytes"] = self.recorded_peak_bytes
        return out


@dataclass(frozen=True)
class Totals:
    mem_bytes: int  # used memory of every running service container
    host_budget: int | None
    engine_mem_total: int | None
    host: HostMemory
    stats_source: str
    hint: str | None = None
    running: int = 0


def primary(containers: tuple[ContainerSnapshot, ...]) -> ContainerSnapshot | None:
    running = [c for c in containers if c.is_running]
    return running[0] if running else (containers[0] if containers else None)


class LiveModel:
    def __init__(
        self,
        stack: Stack,
        profile: Profile | None,
        *,
        peaks: PeakStore | None = None,
        host_memory: Callable[[], HostMemory] = read_host_memory,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        history: HistorySink | None = None,
    ) -> None:
        self.stack = stack
        self.profile = profile
        self.peaks = peaks
        self.history = history
        # Limits changed on a running container (`u`, `skid update`): its budget until it is recreated.
        self.live_limits: dict[str, Budget] = {}
        self._started_marked: set[tuple[str, float]] = set()  # (container, start time) already sent to history
        # The idle timeout of on-demand services whose profile gives none: False keeps the profile's default
        # (10m), None stops none, else seconds (the config file's idle_stop).
        self.idle_default: float | Literal[False] | None = False
        self.host_memory = host_memory
        self.clock = clock
        self.engine = EngineStatus("connecting")
        self.containers: dict[str, tuple[ContainerSnapshot, ...]] = {}
        self.usage: dict[str, ServiceUsage] = {name: ServiceUsage() for name in stack.services}
        self.latest: dict[str, StatsSample] = {}  # container id -> newest sample
        self.service_of: dict[str, str] = {}  # container id -> service
        self.stats_source = "none"
        self.fallbacks: tuple[tuple[str, str], ...] = ()
        self.host = host_memory()
        self.batches = 0
        self.idle_since: dict[str, float] = {}  # on-demand service -> monotonic time it went idle

    # -- updates --------------------------------------------------------------------------------------

    def apply(self, update: WatchUpdate) -> set[str]:
        """Apply one watcher update; returns the services whose numbers changed ("*": all of them)."""
        if isinstance(update, EngineStatus):
            self.engine = update
            if update.state != "connected":
                self.latest.clear()
                self.stats_source = "none"
            return {"*"}
        if isinstance(update, ServiceUpdate):
            return self._apply_service(update)
        if isinstance(update, StatsBatch):
            return self._apply_stats(update)
        return set()  # an engine event: the timeline's (ops.events), not a number

    def _apply_service(self, update: ServiceUpdate) -> set[str]:
        service = update.service
        self.containers[service] = update.containers
        usage = self.usage.setdefault(service, ServiceUsage())
        for c in update.containers:
            self.service_of[c.id] = service
        alive = {c.id for c in update.containers if c.is_running}
        for cid in [cid for cid, s in self.service_of.items() if s == service and cid not in alive]:
            self.latest.pop(cid, None)
        c = primary(update.containers)
        if c is None or not c.is_running:
            self.idle_since.pop(service, None)
        if self.history is not None:
            self._mark_starts(service, update.containers)
        if update.event == "oom":
            at = datetime.fromtimestamp(update.at, UTC)
            if c is not None and c.id in usage.oom_counters:
                usage.oom_at, usage.oom_time_known = at, True  # the kernel's counter counts it
            else:
                usage.kill(at)
                self._mark(service, c.id if c else "", at.timestamp(), "oom", f"event:{update.at:.0f}")
        elif c is not None and not c.is_running and usage.oom_at is None and self._oom_exit(usage, c):
            at = c.finished_at or self.clock()
            usage.kill(at)
            self._mark(service, c.id, at.timestamp(), "oom", f"exit:{at.timestamp():.0f}")
        elif c is not None and c.state == "running" and usage.oom_at and c.started_at and c.started_at > usage.oom_at:
            usage.oom_at = None  # it started again: the kill is history (still counted)
        return {service}

    def _mark(self, service: str, container: str, at: float, kind: Literal["oom", "start"], key: str) -> None:
        if self.history is not None:
            self.history.mark(Mark(self.stack.project, service, container, at, kind, key))

    def _mark_starts(self, service: str, containers: tuple[ContainerSnapshot, ...]) -> None:
        """Each (re)start once: its StartedAt is the key every skid process agrees on."""
        for c in containers:
            if c.started_at is None or not c.is_running:
                continue
            at = c.started_at.timestamp()
            if (c.id, at) not in self._started_marked:
                self._started_marked.add((c.id, at))
                self._mark(service, c.id, at, "start", f"start:{at:.3f}")

    @staticmethod
    def _oom_exit(usage: ServiceUsage, c: ContainerSnapshot) -> bool:
        """The container ended by an OOM kill: the engine says so, or (Podman says neither) it was SIGKILLed
        (137) right after a reading close to its memory limit."""
        if c.oom_killed:
            return True
        last = usage.last
        return (c.state in ("exited", "dead") and c.exit_code == 137 and last is not None
                and last.container_id == c.id and bool(last.mem_limit) and last.mem_used >= AT_LIMIT * last.mem_limit)

    def _apply_stats(self, batch: StatsBatch) -> set[str]:
        self.batches += 1
        # Samples carry monotonic times; history keeps wall-clock ones.
        wall_offset = self.clock().timestamp() - time.monotonic()
        self.stats_source = batch.source
        self.fallbacks = batch.fallbacks
        self.host = self.host_memory()
        changed: set[str] = set()
        for sample in batch.samples:
            service = self.service_of.get(sample.container_id)
            if service is None:
                continue
            c = primary(self.containers.get(service, ()))
            if c is not None and c.id == sample.container_id and not c.is_running:
                # The OOM watch's reading of a container the kill ended: a kill to count, no live numbers.
                self._count_ooms(self.usage.setdefault(service, ServiceUsage()), sample)
                changed.add(service)
                continue
            self.latest[sample.container_id] = sample
            if self.history is not None:
                self.history.add(Reading(self.stack.project, service, sample.container_id, sample.at + wall_offset,
                                         sample.mem_used, sample.cpu_percent, sample.net_rx_bps, sample.net_tx_bps,
                                         sample.pids))
            if c is None or c.id != sample.container_id:
                continue  # a second replica: counted in the totals, not drawn
            usage = self.usage.setdefault(service, ServiceUsage())
            self._count_ooms(usage, sample)
            usage.record(sample)
            if usage.peak_mem is None or sample.mem_used > usage.peak_mem:
                usage.peak_mem = sample.mem_used
            if self.peaks is not None:
                self.peaks.observe(self.stack.project, service, sample.mem_used)
            self._track_idle(service, sample)
            changed.add(service)
        return changed

    def _count_ooms(self, usage: ServiceUsage, sample: StatsSample) -> None:
        """The kernel's own count: an increase is a kill (also one the container survived, a worker process
        killed); above zero at the first reading, kills from before skid watched."""
        if sample.oom_kills is None:
            return
        before = usage.oom_counters.get(sample.container_id)
        usage.oom_counters[sample.container_id] = sample.oom_kills
        now = self.clock()
        # An oom event just before is one of these kills: its time is the kill's, and it was counted only
        # when no counter of the container had been read yet.
        event = usage.oom_at if usage.oom_at and usage.oom_time_known and now - usage.oom_at < OOM_EVENT_SLACK else None
        if before is None:
            past = sample.oom_kills - (1 if event else 0)
            if past > 0:
                usage.kill(now, past, known=False)
                self._mark_counted(sample, 1 + (1 if event else 0), now)
        elif sample.oom_kills > before:
            usage.kill(event or now, sample.oom_kills - before)
            self._mark_counted(sample, before + 1, event or now)

    def _mark_counted(self, sample: StatsSample, first: int, at: datetime) -> None:
        """Kills `first`..counter of the kernel's count: keyed by their number, the same in every process."""
        if self.history is None:
            return
        service = self.service_of.get(sample.container_id, "")
        for n in range(first, (sample.oom_kills or 0) + 1):
            self._mark(service, sample.container_id, at.timestamp(), "oom", f"count:{n}")

    def _track_idle(self, service: str, sample: StatsSample) -> None:
        if self.profile is None or self.profile.on_demand_for(service) is None or sample.cpu_percent is None:
            return
        if sample.cpu_percent < IDLE_CPU_PERCENT:
            self.idle_since.setdefault(service, sample.at)
        else:
            self.idle_since.pop(service, None)

    def idle_expired(self, now: float) -> list[tuple[str, float, int]]:
        """On-demand services idle for their whole idle timeout: (service, idle seconds, memory used)."""
        if self.profile is None:
            return []
        expired = []
        for od in self.profile.on_demand:
            since = self.idle_since.get(od.service)
            timeout = od.idle_timeout if od.explicit or self.idle_default is False else self.idle_default
            if timeout is None:
                continue  # the user turned idle stops off (config idle_stop = "off")
            if since is not None and now - since >= timeout and od.service in self.running_services():
                expired.append((od.service, now - since, self.used_by_service().get(od.service, 0)))
        return expired

    def set_profile(self, profile: Profile | None) -> None:
        self.profile = profile
        self.idle_since.clear()  # idle timeouts are the new profile's

    # -- questions the planner asks ---------------------------------------------------------------------

    def running_services(self) -> set[str]:
        return {s for s, cs in self.containers.items() if any(c.is_running for c in cs)}

    def used_by_service(self) -> dict[str, int]:
        used: dict[str, int] = {}
        for cid, sample in self.latest.items():
            service = self.service_of.get(cid)
            if service:
                used[service] = used.get(service, 0) + sample.mem_used
        return used

    def idle_services(self) -> set[str]:
        """Running services whose last reading used less CPU than the idle threshold."""
        return {s for s, u in self.usage.items() if s in self.running_services() and u.last is not None
                and u.last.cpu_percent is not None and u.last.cpu_percent < IDLE_CPU_PERCENT}

    def engine_free(self) -> int | None:
        """The engine's memory not used by this stack; on a local engine, no more than the host has free."""
        if not self.engine.info or not self.engine.info.mem_total:
            return None
        free = max(0, self.engine.info.mem_total - sum(self.used_by_service().values()))
        if "cgroup" in self.stats_source:
            free = min(free, self.host.available)
        return free

    # -- snapshots ------------------------------------------------------------------------------------

    def set_live_limits(self, container_id: str, memory: int | None, reservation: int | None,
                        cpus: float | None) -> None:
        """The container's limits as the engine now has them: its panel's marks move to them."""
        self.live_limits[container_id] = Budget(mem_standard=reservation or None, mem_max=memory or None,
                                                cpus_reservation=None, cpus_limit=cpus or None)

    def budget_of(self, service: str, container_id: str | None) -> Budget | None:
        """The compose budget, with what was changed live on this container in its place."""
        spec = self.stack.services.get(service)
        budget = spec.budget if spec else None
        live = self.live_limits.get(container_id or "")
        if live is None:
            return budget
        base = budget or Budget()
        return replace(base, mem_standard=live.mem_standard or base.mem_standard,
                       mem_max=live.mem_max or base.mem_max, cpus_limit=live.cpus_limit or base.cpus_limit)

    def resources(self, service: str) -> ServiceResources:
        usage = self.usage.get(service) or ServiceUsage()
        c = primary(self.containers.get(service, ()))
        budget = self.budget_of(service, c.id if c else None)
        running = c is not None and c.is_running and self.engine.state == "connected"
        sample = usage.last if running and usage.last and c is not None and usage.last.container_id == c.id else None
        history = running and c is not None and usage.history_of == c.id
        state = c.state if c else "not created"
        mem = sample.mem_used if sample else None
        return ServiceResources(
            service=service,
            container=c.short_id if c else None,
            state=state,
            running=running,
            cpu_percent=sample.cpu_percent if sample else None,
            cpu_limit=budget.cpus_limit if budget else None,
            mem_bytes=mem,
            mem_limit_bytes=sample.mem_limit if sample else None,
            mem_standard_bytes=budget.mem_standard if budget else None,
            mem_max_bytes=budget.mem_max if budget else None,
            budget_state=budget_state(mem, budget, usage.oom_at is not None) if budget else None,
            oom_kills=usage.oom_kills,
            oom_time_known=usage.oom_time_known,
            peak_mem_bytes=usage.peak_mem,
            recorded_peak_bytes=self.peaks.recorded(self.stack.project, service) if self.peaks else None,
            net_rx_bps=sample.net_rx_bps if sample else None,
            net_tx_bps=sample.net_tx_bps if sample else None,
            pids=sample.pids if sample else None,
            oom_at=usage.oom_at,
            mem_history=tuple(usage.mem_history) if history else (),
            cpu_history=tuple(usage.cpu_history) if history else (),
            source=sample.source if sample else None,
        )

    def totals(self) -> Totals:
        used = sum(s.mem_used for s in self.latest.values())
        running = sum(1 for cs in self.containers.values() if any(c.is_running for c in cs))
        engine_total = self.engine.info.mem_total if self.engine.info else None
        return Totals(
            mem_bytes=used,
            host_budget=self.profile.host_budget if self.profile else None,
            engine_mem_total=engine_total,
            host=self.host,
            stats_source=self.stats_source,
            hint=self.stop_hint(),
            running=running,
        )

    def stop_hint(self) -> str | None:
        """At 80% host memory or more: which services to stop, largest first, and what that frees."""
        if self.host.fraction < HOST_HINT_AT:
            return None
        by_service = self.used_by_service()
        if not by_service:
            return None
        wanted = set(self.profile.services) if self.profile else set()
        # Services the active profile does not need go first; then the rest, largest first.
        ranked = sorted(by_service.items(), key=lambda kv: (kv[0] in wanted, -kv[1]))[:3]
        names = ", ".join(f"{s} ({format_bytes(m)})" for s, m in ranked)
        freed = format_bytes(sum(m for _, m in ranked))
        return (f"host memory {self.host.fraction:.0%} used: stopping {names} would free {freed}")

    def to_json(self) -> dict[str, Any]:
        """`skid monitor --once --json`."""
        totals = self.totals()
        return {
            "project": self.stack.project,
            "profile": self.profile.name if self.profile else None,
            "services": [self.resources(s).to_json() for s in self.stack.services],
            "totals": {"mem_bytes": totals.mem_bytes, "host_budget_bytes": totals.host_budget,
                       "running": totals.running},
            "engine": {
                "mem_total_bytes": totals.engine_mem_total,
                "stats_source": totals.stats_source,
                "state": self.engine.state,
                "endpoint": self.engine.info.candidate.url if self.engine.info else None,
            },
            "host": {"mem_total_bytes": totals.host.total, "mem_available_bytes": totals.host.available},
            "hint": totals.hint,
            "at": time.time(),
        }

    def complete(self, min_cpu_window: float = 0.0, need_cpu: bool = True) -> bool:
        """Every running service has a sample with a CPU% (which takes two readings), over at least
        `min_cpu_window` seconds (a quarter-second first reading is enough to draw, not to report).
        Without `need_cpu`, a first reading (its memory) is enough: what the dashboard draws first."""
        if self.engine.state != "connected" or self.batches == 0:
            return False
        for service, containers in self.containers.items():
            c = primary(containers)
            if c is None or c.state != "running" or service not in self.stack.services:
                continue
            last = self.usage[service].last
            if last is None or last.container_id != c.id:
                return False
            if need_cpu and (last.cpu_percent is None or (last.cpu_window or 0.0) < min_cpu_window):
                return False
        return True
