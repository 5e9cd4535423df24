"""`skid monitor`: the stack's monitor-resources script done right, as a plain Rich table.

It runs the same watcher and applies its updates to the same LiveModel as the dashboard, so both show
the same numbers; only the drawing differs.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from skid_tui.engine.client import engine_timeout
from skid_tui.engine.discovery import EngineCandidate
from skid_tui.engine.sampler import StatsMode
from skid_tui.engine.watcher import EngineStatus, StackWatcher, WatchUpdate
from skid_tui.model import LiveModel, ServiceResources
from skid_tui.model.budget import cpu_fraction, usage_tone
from skid_tui.stack import format_bytes
from skid_tui.stack.sizes import compact_bytes, compact_rate

BUDGET_STYLE = {"ok": "green", "over_standard": "yellow", "near_max": "red", "oom": "bold white on red",
                "no_budget": "cyan"}
TIPS = (
    "run a smaller profile: skid --profile minimal",
    "stop the LLM advisor when you do not need it",
    "close browser tabs and other heavy apps",
)


class ModelFeed:
    """Runs the watcher in a thread and applies its updates to a model on the caller's thread."""

    def __init__(self, model: LiveModel, project: str, candidates: Callable[[], list[EngineCandidate]],
                 stats: StatsMode) -> None:
        self.model = model
        self.updates: queue.Queue[WatchUpdate] = queue.Queue()
        self.watcher = StackWatcher(project, candidates, self.updates.put, stats=stats)
        self.thread = threading.Thread(target=self.watcher.run, name="skid-monitor-watcher", daemon=True)

    def __enter__(self) -> ModelFeed:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.watcher.stop()
        # A watcher blocked on an engine that does not answer wakes at its request deadline, not now: the
        # thread is a daemon, so do not make the command wait for it.
        self.thread.join(timeout=1)
        if self.model.peaks is not None:
            self.model.peaks.save()

    def drain(self, timeout: float) -> None:
        """Apply what arrives within `timeout` seconds (at least one update if any comes)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                update = self.updates.get(timeout=max(0.0, remaining)) if remaining > 0 else self.updates.get_nowait()
            except queue.Empty:
                return
            self.model.apply(update)


def _mem(n: int | None) -> str:
    return compact_bytes(n) if n is not None else "-"


def service_row(r: ServiceResources) -> list[Text | str]:
    fraction = cpu_fraction(r.cpu_percent, r.cpu_limit)
    if r.running and r.cpu_percent is not None:
        cpu = f"{r.cpu_percent:.1f}%" + (f"/{r.cpu_limit * 100:g}%" if r.cpu_limit else "")
    else:
        cpu = "-"
    if r.running and r.mem_bytes is not None:
        limit = r.mem_max_bytes or r.mem_limit_bytes
        pct = f" ({r.mem_bytes / limit:.0%})" if limit else ""
        mem = f"{compact_bytes(r.mem_bytes)}{pct}"
    else:
        mem = "-"
    mem_fraction = (r.mem_bytes / r.mem_max_bytes) if r.mem_bytes is not None and r.mem_max_bytes else None
    state = r.budget_state or ("off" if not r.running else "-")
    if r.oom_at is not None:
        state = f"oom {r.oom_at.astimezone().strftime('%H:%M:%S')}"
    peak = r.peak_mem_bytes if r.peak_mem_bytes is not None else r.recorded_peak_bytes
    return [
        r.service,
        Text(r.state, style="green" if r.running else "dim"),
        Text(cpu, style=usage_tone(fraction)),
        Text(mem, style=usage_tone(mem_fraction)),
        f"{_mem(r.mem_standard_bytes)}/{_mem(r.mem_max_bytes)}"
        if r.mem_standard_bytes is not None or r.mem_max_bytes is not None else "no budget",
        Text(state.replace("_", " "), style=BUDGET_STYLE.get(r.budget_state or "", "dim")),
        _mem(peak),
        f"{compact_rate(r.net_rx_bps)} {compact_rate(r.net_tx_bps)}" if r.running else "-",
        str(r.pids) if r.pids is not None else "-",
    ]


def render(model: LiveModel) -> Group:
    """The monitor screen: host and stack lines, one row per service, tips when memory runs short."""
    totals = model.totals()
    host = totals.host
    head = Text()
    head.append("host ", style="bold")
    head.append(f"{format_bytes(host.used)} / {format_bytes(host.total)} ({host.fraction:.0%})",
                style=usage_tone(host.fraction))
    head.append("   stack ", style="bold")
    budget = f" of {format_bytes(totals.host_budget)} budget" if totals.host_budget else ""
    head.append(f"{format_bytes(totals.mem_bytes)}{budget}",
                style=usage_tone(totals.mem_bytes / totals.host_budget) if totals.host_budget else "")
    if totals.engine_mem_total:
        head.append(f"   engine {format_bytes(totals.engine_mem_total)}")
    head.append(f"   stats {totals.stats_source}", style="dim")
    if model.engine.state != "connected":
        head.append(f"\n{model.engine.message or 'no engine yet'}", style="bold red")
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col, justify in (("service", "left"), ("state", "left"), ("cpu", "right"), ("memory", "right"),
                         ("std/max", "right"), ("budget", "left"), ("peak", "right"), ("net rx tx", "right"),
                         ("pids", "right")):
        table.add_column(col, justify=justify, no_wrap=True, overflow="ellipsis")  # type: ignore[arg-type]
    for service in model.stack.services:
        table.add_row(*service_row(model.resources(service)))
    parts: list[Text | Table] = [head, table]
    if totals.hint:
        tips = Text(f"⚠ {totals.hint}", style="yellow")
        for tip in TIPS:
            tips.append(f"\n  • {tip}", style="dim")
        parts.append(tips)
    return Group(*parts)


def run_live(feed: ModelFeed, interval: float, console: Console) -> None:
    """Redraw every `interval` seconds until Ctrl-C."""
    with Live(render(feed.model), console=console, auto_refresh=False, transient=False) as live:
        while True:
            feed.drain(interval)
            live.update(render(feed.model), refresh=True)


CONNECT_REQUESTS = 6  # what connecting costs the watcher: /version, /info, /events, the list, inspects


def wait_complete(feed: ModelFeed, connect_timeout: float | None = None, sample_timeout: float = 3.0) -> bool:
    """Until every running service has a complete sample (CPU needs two readings), at most
    `sample_timeout` seconds once the engine answered. False when no engine answered, and the model's
    engine status then says why.

    Connecting is bounded by the engine's own request deadlines (`skid status` has the same ones), so a slow
    engine that answers is waited for here as there; `connect_timeout` (default: a few requests' worth of
    `engine_timeout()`) only backs up an engine that keeps trickling bytes and never finishes."""
    limit = CONNECT_REQUESTS * engine_timeout() if connect_timeout is None else connect_timeout
    deadline = time.monotonic() + limit
    while feed.model.engine.state != "connected" and time.monotonic() < deadline:
        if feed.model.engine.state in ("unreachable", "lost"):
            return False
        feed.drain(0.1)
    if feed.model.engine.state != "connected":
        feed.model.apply(EngineStatus("unreachable", message=f"the engine did not finish connecting within "
                                                             f"{limit:g} s (still waiting for its answers)"))
        return False
    deadline = time.monotonic() + sample_timeout
    # A full second of CPU time per service, as `docker stats` reports: bursty services read wrong
    # over the quarter second the dashboard's first paint uses.
    while not feed.model.complete(min_cpu_window=0.9) and time.monotonic() < deadline:
        feed.drain(0.05)
    return True
