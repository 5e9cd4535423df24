"""What a panel or the header shows, as plain frozen data computed from the model.

Widgets compare the new view with the last one and repaint only when it differs, so these functions
decide what is visible (an uptime of "3m" does not change every second) and nothing else does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from skid_tui.engine.containers import ContainerSnapshot
from skid_tui.engine.watcher import EngineStatus
from skid_tui.model import ServiceResources, Totals
from skid_tui.model.budget import BudgetState, cpu_fraction, usage_tone
from skid_tui.present import BUDGET_STYLE
from skid_tui.stack import Budget, Profile, ServiceSpec, format_bytes
from skid_tui.ui.gauges import SparkMemo, compact_bytes, compact_rate, percent, ruler_scale

Tone = str  # "ok", "warn", "bad", "off", "lost"
PANEL_WIDTH = 46  # content width of a panel before the first layout tells the real one
MEM_TEXT = 9  # "1.20 GiB" right-aligned: the ruler keeps its width as numbers change
SPARKS = SparkMemo()  # every panel's two sparklines, moved on a cell at a time


@dataclass(frozen=True)
class ResourceView:
    """The resource lines of a panel, quantized to what is visible at its width (so equal = no repaint)."""

    running: bool
    mem_text: str
    ruler_width: int
    ruler_filled: int  # cells
    ruler_std: int | None
    ruler_max: int | None
    ruler_style: str
    limits_text: str
    mem_spark: str
    cpu_spark: str
    cpu_text: str
    cpu_style: str
    net_text: str
    budget_state: str | None
    oom_text: str = ""


def resource_view(r: ServiceResources, width: int) -> ResourceView:
    used = r.mem_bytes if r.running else None
    peak = r.peak_mem_bytes if r.peak_mem_bytes is not None else r.recorded_peak_bytes
    scale = ruler_scale(used, r.mem_standard_bytes, r.mem_max_bytes, peak)
    ruler_width = max(8, width - 4 - 1 - MEM_TEXT)

    def cell(n: int | None) -> int | None:
        return None if not n else min(ruler_width - 1, round(n / scale * ruler_width) - 1)

    filled = 0 if not used else min(ruler_width, max(1, round(used / scale * ruler_width)))
    std, mx = r.mem_standard_bytes, r.mem_max_bytes
    parts = []
    if std is None and mx is None:
        parts.append("no budget")
    else:
        parts.append(f"std {format_bytes(std)}" if std is not None else "no std")
        parts.append(f"max {format_bytes(mx)}" if mx is not None else "no max")
    if r.running and r.peak_mem_bytes is not None:
        parts.append(f"peak {format_bytes(r.peak_mem_bytes)}")
    elif not r.running and peak is not None:
        parts.append(f"last peak {format_bytes(peak)}")
    spark_width = max(4, width - 4)
    mem_spark = SPARKS.draw((r.service, "mem"), r.mem_history[-60:], spark_width, scale) if r.running else ""
    fraction = cpu_fraction(r.cpu_percent, r.cpu_limit)
    if not r.running:
        cpu_text = f"limit {r.cpu_limit:g} cpu" if r.cpu_limit else ""
    elif r.cpu_limit:
        cpu_text = f"{percent(r.cpu_percent)} of {r.cpu_limit:g} cpu"
    else:
        cpu_text = percent(r.cpu_percent)
    cpu_spark = ""
    if r.running:
        top = r.cpu_limit * 100 if r.cpu_limit else max(100.0, max(r.cpu_history, default=0.0))
        cpu_spark = SPARKS.draw((r.service, "cpu"), r.cpu_history[-60:], max(4, width - 5 - len(cpu_text)), top)
    net = ""
    if r.running:
        net = f"↓{compact_rate(r.net_rx_bps)} ↑{compact_rate(r.net_tx_bps)}"
        if r.pids is not None:
            net += f" · {r.pids} pid{'s' if r.pids != 1 else ''}"
    return ResourceView(
        running=r.running,
        mem_text=(format_bytes(used) if used is not None else ("…" if r.running else "off")).rjust(MEM_TEXT),
        ruler_width=ruler_width,
        ruler_filled=filled,
        ruler_std=cell(std),
        ruler_max=cell(mx),
        ruler_style=BUDGET_STYLE.get(r.budget_state or "", "green"),
        limits_text=" · ".join(parts),
        mem_spark=mem_spark,
        cpu_spark=cpu_spark,
        cpu_text=cpu_text,
        cpu_style=usage_tone(fraction) or "",
        net_text=net,
        budget_state=r.budget_state,
        oom_text=oom_text(r),
    )


def oom_text(r: ServiceResources) -> str:
    """The sticky OOM badge: "OOM-KILLED 10:42:01", "OOM-KILLED 3x, last 10:42:01", or for kills from before
    skid watched (the kernel's counter), "OOM-KILLED 2x before skid watched"."""
    if r.oom_at is None:
        return ""
    times = f"{r.oom_kills}x" if r.oom_kills > 1 else ""
    if not r.oom_time_known:
        return f"OOM-KILLED {times or '1x'} before skid watched"
    at = r.oom_at.astimezone().strftime("%H:%M:%S")
    return f"OOM-KILLED {times}, last {at}" if times else f"OOM-KILLED {at}"


def budget_tone(state: str | None) -> Tone | None:
    return {BudgetState.OVER_STANDARD: "warn", BudgetState.NEAR_MAX: "bad", BudgetState.OOM: "bad"}.get(state or "")


@dataclass(frozen=True)
class ServiceView:
    name: str
    state: str  # running, exited, restarting, paused, created, dead, removing, not created
    health: str  # starting, healthy, unhealthy, none
    uptime: str
    image: str
    ports: tuple[str, ...]
    budget: str
    membership: str  # "in minimal", "not in minimal", "on demand"
    wanted: bool
    tone: Tone
    exit_code: int | None = None
    replicas: str = ""  # "x3 · 2/3 running" when scaled
    engine: str = "connected"  # connected, connecting, unreachable, lost
    oom: bool = False
    resources: ResourceView | None = None
    pending: str = ""  # "start queued", "starting", "stopping"...: a compose operation on its way
    health_note: str = ""  # "no check has run": health that stays "starting" because nothing runs the checks
    crash_loop: bool = False  # 3 or more restarts in the last 5 minutes (ops.events)

    @property
    def state_text(self) -> str:
        if self.state == "exited" and self.exit_code is not None:
            return f"exited ({self.exit_code})"
        return self.state


def format_uptime(seconds: float) -> str:
    """Coarse on purpose: a panel repaints when its text changes, so minutes after the first one."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def budget_text(spec: ServiceSpec) -> str:
    """"256 MiB std / 512 MiB max · cpus 0.25-0.5"; a missing side reads as ≤ or ≥, never as 0."""
    return _budget_text(spec.budget)


@lru_cache(maxsize=1024)  # asked for every panel every second; a budget changes only with the compose file
def _budget_text(b: Budget) -> str:
    if not b.has_memory:
        mem = "no budget"
    elif b.mem_standard is not None and b.mem_max is not None:
        mem = f"{format_bytes(b.mem_standard)} std / {format_bytes(b.mem_max)} max"
    elif b.mem_max is not None:
        mem = f"≤ {format_bytes(b.mem_max)} max"
    else:
        mem = f"{format_bytes(b.mem_standard or 0)} std, no max"
    res, lim = b.cpus_reservation, b.cpus_limit
    if res is not None and lim is not None:
        return f"{mem} · cpus {res:g}-{lim:g}"
    if lim is not None:
        return f"{mem} · cpus ≤ {lim:g}"
    if res is not None:
        return f"{mem} · cpus ≥ {res:g}"
    return mem


def ports_text(ports: Sequence[tuple[str | None, int | None, int, str]]) -> tuple[str, ...]:
    """Published ports grouped by host address: ("127.0.0.1: 19000→9000, 19001→9001",).

    The address stays visible (loopback-only or every interface matters), but only once per group.
    """
    return _ports_text(tuple(ports))


@lru_cache(maxsize=1024)
def _ports_text(ports: tuple[tuple[str | None, int | None, int, str], ...]) -> tuple[str, ...]:
    groups: dict[str, list[str]] = {}
    for host_ip, host_port, container_port, protocol in ports:
        ip = host_ip if host_ip and host_ip not in ("0.0.0.0", "::") else "*"
        proto = "" if protocol == "tcp" else f"/{protocol}"
        mapping = f"{host_port}→{container_port}{proto}" if host_port else f"{container_port}{proto}"
        groups.setdefault(ip, []).append(mapping)
    return tuple(f"{ip}: {', '.join(maps)}" for ip, maps in groups.items())


def primary(containers: Sequence[ContainerSnapshot]) -> ContainerSnapshot | None:
    """The container a panel describes: the first running replica, else the first one."""
    running = [c for c in containers if c.is_running]
    if running:
        return running[0]
    return containers[0] if containers else None


def tone_of(state: str, health: str, exit_code: int | None, oom: bool, engine: str) -> Tone:
    if engine != "connected":
        return "lost"
    if oom or state == "dead" or health == "unhealthy" or (state == "exited" and exit_code not in (0, None)):
        return "bad"
    if state in ("restarting", "paused", "removing") or (state == "running" and health == "starting"):
        return "warn"
    if state == "running":
        return "ok"
    return "off"


def short_image(name: str) -> str:
    """An image as compose names it: Podman spells out the default registry (docker.io/skid-demo/api)."""
    for prefix in ("docker.io/library/", "docker.io/"):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


HEALTH_SLACK = 10.0  # seconds past a first check's due time before skid says none has run


def unchecked(c: ContainerSnapshot, now: datetime) -> bool:
    """Health still "starting" well after its first check was due, and no check has run: nothing runs them
    (Podman without systemd)."""
    return (c.state == "running" and c.health == "starting" and c.health_checks == 0 and c.started_at is not None
            and (now - c.started_at).total_seconds() > c.health_wait + HEALTH_SLACK)


def service_view(
    spec: ServiceSpec,
    containers: Sequence[ContainerSnapshot],
    *,
    profile: Profile | None,
    engine_state: str,
    now: datetime,
    resources: ServiceResources | None = None,
    width: int = PANEL_WIDTH,
    pending: str = "",
    crash_loop: bool = False,
) -> ServiceView:
    c = primary(containers)
    wanted = profile is not None and spec.name in profile.services
    if profile is None:
        membership = ""
    elif wanted:
        membership = f"in {profile.name}"
    elif profile.on_demand_for(spec.name):
        membership = "on demand"
    else:
        membership = f"not in {profile.name}"
    if c is None:
        state, health, uptime, exit_code, oom, health_note = "not created", "none", "", None, False, ""
        image = spec.image or (f"build {spec.build.context.name}" if spec.build else "")
        if spec.provider is not None:
            image = f"provider {spec.provider}: no container of its own"
        ports = ports_text([(p.host_ip, p.host_port, p.container_port, p.protocol) for p in spec.ports])
    else:
        state = c.state
        # The engine keeps the last health of a stopped container ("unhealthy" after a stop): not news.
        health = (c.health or "none") if c.is_running else "none"
        exit_code = c.exit_code if state in ("exited", "dead") else None
        oom = c.oom_killed and state in ("exited", "dead")
        uptime = format_uptime((now - c.started_at).total_seconds()) if c.is_running and c.started_at else ""
        health_note = "no check has run" if unchecked(c, now) else ""
        image = short_image(c.image)
        published = [(p.host_ip, p.host_port, p.container_port, p.protocol) for p in c.ports]
        if not published and not c.is_running:
            # A stopped container publishes nothing: show what it will publish when started.
            published = [(p.host_ip, p.host_port, p.container_port, p.protocol) for p in spec.ports]
        ports = ports_text(published)
    res = resource_view(resources, width) if resources is not None else None
    tone = tone_of(state, health, exit_code, oom, engine_state)
    if res is not None:
        oom = oom or bool(res.oom_text)
        # The border follows the worse of health and budget: a healthy service near its maximum is red.
        order = ["ok", "warn", "bad"]
        btone = budget_tone(res.budget_state)
        if btone and tone in order and order.index(btone) > order.index(tone):
            tone = btone
        if res.budget_state == BudgetState.OOM and tone in ("off", "ok", "warn"):
            tone = "bad"
    if pending and tone in ("ok", "off"):
        tone = "warn"  # something is about to change: yellow until it has
    if crash_loop:
        tone = "bad"
    counts = []
    if spec.replicas != 1:
        counts.append(f"x{spec.replicas}")  # compose runs that many: its budget counts that many times
    if len(containers) > 1:
        counts.append(f"{sum(1 for x in containers if x.is_running)}/{len(containers)} running")
    replicas = " · ".join(counts)
    return ServiceView(
        name=spec.name,
        state=state,
        health=health,
        health_note=health_note,
        crash_loop=crash_loop,
        uptime=uptime,
        image=image,
        ports=ports,
        budget=budget_text(spec),
        membership=membership,
        wanted=wanted,
        tone=tone,
        exit_code=exit_code,
        replicas=replicas,
        engine=engine_state,
        oom=oom,
        resources=res,
        pending=pending,
    )


@dataclass(frozen=True)
class HeaderView:
    project: str
    profile: str
    profile_services: int
    running: int
    services: int
    engine_state: str
    engine_line: str
    stats_source: str = "none"
    compose: str = ""  # the compose tool skid runs, as detected
    own_cpu: float | None = None  # skid's own CPU% (of one core) and resident memory: what watching costs
    own_rss: int | None = None


STATS_SOURCE_TEXT = {
    "cgroup": "stats: direct cgroup reads",
    # A stream per container costs the engine more than the dashboard costs itself: say what costs less.
    "api": "stats: engine API streams (--stats agent costs less)",
    "cgroup+api": "stats: cgroup reads + API streams",
    "agent": "stats: agent in the engine",
    "agent+api": "stats: agent + API streams",
    "none": "",
}


@dataclass(frozen=True)
class BudgetBarView:
    """The strip under the header: the stack against the profile's budget, the engine and the host."""

    stack_used: str
    budget: str
    budget_fraction: float | None
    budget_style: str
    engine: str
    host: str
    host_style: str
    hint: str | None


def budget_bar_view(t: Totals, width_cells: int = 20) -> BudgetBarView:
    fraction = t.mem_bytes / t.host_budget if t.host_budget else None
    # Quantized to the bar's cells and the texts' precision: the strip repaints only when it would look different.
    cells = round(min(fraction, 1.0) * width_cells) / width_cells if fraction is not None else None
    engine = ""
    if t.engine_mem_total:
        free = format_bytes(max(0, t.engine_mem_total - t.mem_bytes))
        share = t.mem_bytes / t.engine_mem_total
        engine = f"engine {format_bytes(t.engine_mem_total)}: stack uses {share:.0%}, {free} free"
    host = (f"host {compact_bytes(t.host.used)} of {compact_bytes(t.host.total)} used "
            f"({t.host.fraction:.0%})")
    return BudgetBarView(
        stack_used=format_bytes(t.mem_bytes),
        budget=format_bytes(t.host_budget) if t.host_budget else "no budget",
        budget_fraction=cells,
        budget_style=usage_tone(fraction) or "green",
        engine=engine,
        host=host,
        host_style=usage_tone(t.host.fraction) or "green",
        hint=t.hint,
    )


def engine_line(status: EngineStatus) -> str:
    if status.state == "connected" and status.info is not None:
        info = status.info
        return f"{info.describe()} at {info.candidate.describe()}"
    if status.state == "connecting":
        return "looking for a container engine…"
    if status.state == "lost":
        where = f" at {status.info.candidate.describe()}" if status.info else ""
        return f"engine lost{where}; retrying every {status.retry_interval:g} s"
    tried = len(status.attempts)
    places = f"tried {tried} place{'s' if tried != 1 else ''}" if tried else "nothing to try"
    return f"no container engine answered ({places}); retrying every {status.retry_interval:g} s"


def order_services(services: Sequence[str], profiles: Sequence[Profile], active: Profile | None) -> list[str]:
    """Panels by profile: the active profile's services in its order, then those of the other profiles
    in theirs, then services no profile names, in compose order."""
    order: list[str] = []
    for p in ([active] if active else []) + list(profiles):
        order += [s for s in p.services if s in services and s not in order]
    return order + [s for s in services if s not in order]
