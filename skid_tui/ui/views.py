"""What a panel or the header shows, as plain frozen data computed from the model.

Widgets compare the new view with the last one and repaint only when it differs, so these functions
decide what is visible (an uptime of "3m" does not change every second) and nothing else does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from skid_tui.engine.containers import ContainerSnapshot
from skid_tui.engine.watcher import EngineStatus
from skid_tui.stack import Profile, ServiceSpec, format_bytes

Tone = str  # "ok", "warn", "bad", "off", "lost"


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
    replicas: str = ""  # "2/3 running" when scaled
    engine: str = "connected"  # connected, connecting, unreachable, lost
    oom: bool = False

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
    b = spec.budget
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


def service_view(
    spec: ServiceSpec,
    containers: Sequence[ContainerSnapshot],
    *,
    profile: Profile | None,
    engine_state: str,
    now: datetime,
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
        state, health, uptime, exit_code, oom = "not created", "none", "", None, False
        image = spec.image or (f"build {spec.build.context.name}" if spec.build else "")
        ports = ports_text([(p.host_ip, p.host_port, p.container_port, p.protocol) for p in spec.ports])
    else:
        state = c.state
        # The engine keeps the last health of a stopped container ("unhealthy" after a stop): not news.
        health = (c.health or "none") if c.is_running else "none"
        exit_code = c.exit_code if state in ("exited", "dead") else None
        oom = c.oom_killed and state in ("exited", "dead")
        uptime = format_uptime((now - c.started_at).total_seconds()) if c.is_running and c.started_at else ""
        image = c.image
        published = [(p.host_ip, p.host_port, p.container_port, p.protocol) for p in c.ports]
        if not published and not c.is_running:
            # A stopped container publishes nothing: show what it will publish when started.
            published = [(p.host_ip, p.host_port, p.container_port, p.protocol) for p in spec.ports]
        ports = ports_text(published)
    replicas = ""
    if len(containers) > 1:
        replicas = f"{sum(1 for x in containers if x.is_running)}/{len(containers)} running"
    return ServiceView(
        name=spec.name,
        state=state,
        health=health,
        uptime=uptime,
        image=image,
        ports=ports,
        budget=budget_text(spec),
        membership=membership,
        wanted=wanted,
        tone=tone_of(state, health, exit_code, oom, engine_state),
        exit_code=exit_code,
        replicas=replicas,
        engine=engine_state,
        oom=oom,
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
