"""`skid monitor`: the stack's monitor-resources script done right, as a plain Rich table.

It runs the same watcher and applies its updates to the same LiveModel as the dashboard, so both show
the same numbers; only the drawing differs.
"""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from skid_tui.cli.output import EXIT_ENGINE, say
from skid_tui.engine.discovery import engine_candidates
from skid_tui.model import LiveModel, PeakStore, ServiceResources
from skid_tui.model.active import remembered_profile
from skid_tui.model.budget import cpu_fraction, usage_tone
from skid_tui.ops.config import Options, UsageError, active_profile
from skid_tui.ops.sample import ModelFeed, wait_complete
from skid_tui.present import BUDGET_STYLE
from skid_tui.stack import Stack, format_bytes
from skid_tui.stack.sizes import compact_bytes, compact_rate

TIPS = (
    "run a smaller profile: skid --profile minimal",
    "stop the LLM advisor when you do not need it",
    "close browser tabs and other heavy apps",
)


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


def cmd_monitor(stack: Stack, options: Options, args: argparse.Namespace, out: Console) -> int:
    from skid_tui.cli.monitor import render, run_live
    from skid_tui.model import LiveModel
    from skid_tui.ops.sample import ModelFeed, history_recorder

    if args.interval <= 0:
        raise UsageError(f"--interval must be a positive number of seconds, not {args.interval:g}")
    profile = active_profile(stack, options.profile, remembered_profile(stack.project), options.default_profile)
    history = None if args.once else history_recorder(options.history_bytes)  # a watching process keeps history
    model = LiveModel(stack, profile, peaks=PeakStore.default(), history=history)
    with ModelFeed(model, stack.project, lambda: engine_candidates(options.host), options.stats) as feed:
        if args.json and not args.once:
            from skid_tui.cli.monitor_json import run_ndjson

            try:
                run_ndjson(feed, args.interval, sys.stdout)
            except KeyboardInterrupt:
                return 0
        if not args.once:
            try:
                run_live(feed, args.interval, out)
            except KeyboardInterrupt:
                return 0
        if not wait_complete(feed):
            say(f"skid: {model.engine.message or 'no container engine answered'}")
            return EXIT_ENGINE
        if args.json:
            print(json.dumps(model.to_json(), indent=2))
        else:
            out.print(render(model))
    return 0
