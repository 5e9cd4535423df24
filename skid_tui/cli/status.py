"""`skid check` (the stack as loaded: budgets and profiles) and `skid status` (what runs, from the engine)."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from skid_tui.cli.output import EXIT_ENGINE, say
from skid_tui.engine.client import ENGINE_ERRORS, Engine, EngineUnavailable, describe_error
from skid_tui.engine.containers import read_project, service_containers
from skid_tui.engine.discovery import engine_candidates
from skid_tui.ops.config import Options
from skid_tui.present import STATE_STYLE
from skid_tui.stack import Stack, format_bytes


def _mem(value: int | None) -> str:
    return format_bytes(value) if value is not None else "no budget"


def check_report(stack: Stack) -> dict[str, Any]:
    """`skid check --json`: every service's budget and profiles, every profile's totals."""
    return {
        "project": stack.project,
        "compose_files": [str(f) for f in stack.compose_files],
        "files_read": [{"path": path, "as": why} for path, why in stack.sources],
        "profiles_dir": str(stack.profiles_dir) if stack.profiles_dir else None,
        "services": {
            name: {
                "mem_standard_bytes": s.budget.mem_standard,
                "mem_max_bytes": s.budget.mem_max,
                "cpus_reservation": s.budget.cpus_reservation,
                "cpus_limit": s.budget.cpus_limit,
                "profiles": [p.name for p in stack.profiles.values() if name in p.services],
                "compose_profiles": list(s.compose_profiles),
                "replicas": s.replicas,
            }
            for name, s in stack.services.items()
        },
        "profiles": {
            p.name: {
                "services": list(p.services),
                "mem_standard_bytes": stack.profile_totals(p)[0],
                "mem_max_bytes": stack.profile_totals(p)[1],
                "host_budget_bytes": p.host_budget,
                "on_demand": {o.service: {"idle_timeout_seconds": o.idle_timeout} for o in p.on_demand},
                "description": p.description,
            }
            for p in stack.profiles.values()
        },
        "warnings": [str(w) for w in stack.warnings],
    }


def cmd_check(stack: Stack, as_json: bool, out: Console) -> int:
    if as_json:
        print(json.dumps(check_report(stack), indent=2))
        return 0
    out.print(Text.assemble((stack.project, "bold"), f": {len(stack.services)} services from "
                            f"{', '.join(str(f) for f in stack.compose_files)}"), soft_wrap=True)
    extra = [(path, why) for path, why in stack.sources if why != "compose file"]
    if extra:
        out.print(Text("also read: " + ", ".join(f"{path} ({why})" for path, why in extra), style="dim"),
                  soft_wrap=True)
    services = Table(title="Services", title_justify="left", box=None, pad_edge=False)
    for col, justify in (("service", "left"), ("standard", "right"), ("maximum", "right"),
                         ("cpus res/limit", "right"), ("profiles", "left")):
        services.add_column(col, justify=justify)  # type: ignore[arg-type]
    for name, s in stack.services.items():
        b = s.budget
        cpus = "-" if b.cpus_reservation is None and b.cpus_limit is None else (
            f"{b.cpus_reservation if b.cpus_reservation is not None else '-'}/"
            f"{b.cpus_limit if b.cpus_limit is not None else '-'}")
        services.add_row(name, _mem(b.mem_standard), _mem(b.mem_max), cpus,
                         ", ".join(p.name for p in stack.profiles.values() if name in p.services) or "-")
    out.print(services)
    out.print()
    profiles = Table(title=f"Profiles ({stack.profiles_dir or 'default: what `compose up` starts'})",
                     title_justify="left", box=None, pad_edge=False)
    for col, justify in (("profile", "left"), ("standard", "right"), ("maximum", "right"),
                         ("host budget", "right"), ("", "left"), ("services", "left")):
        profiles.add_column(col, justify=justify)  # type: ignore[arg-type]
    for p in stack.profiles.values():
        std, mx = stack.profile_totals(p)
        if mx <= p.host_budget:
            verdict = Text("fits", style="green")
        elif std <= p.host_budget:
            verdict = Text("tight", style="yellow")
        else:
            verdict = Text("over", style="red")
        profiles.add_row(p.name, format_bytes(std), format_bytes(mx), format_bytes(p.host_budget), verdict,
                         ", ".join(p.services))
    out.print(profiles)
    return 0


def connect_or_exit(options: Options) -> Engine:
    try:
        return Engine.first_answering(engine_candidates(options.host))
    except EngineUnavailable as exc:
        say(f"skid: {exc}")
        raise SystemExit(EXIT_ENGINE) from None


def status_rows(stack: Stack, engine: Engine) -> list[dict[str, Any]]:
    grouped = service_containers(read_project(engine, stack.project), stack.project)
    rows = []
    for name in list(stack.services) + sorted(set(grouped) - set(stack.services)):
        containers = grouped.get(name, ())
        if not containers:
            rows.append({"service": name, "state": "not created", "health": None, "container": None,
                         "exit_code": None, "name": None})
        for c in containers:
            rows.append({"service": name, "state": c.state, "health": c.health, "container": c.short_id,
                         "exit_code": c.exit_code if c.state in ("exited", "dead") else None,
                         "name": c.name})
    return rows


def status_table(rows: list[dict[str, Any]]) -> Table:
    """`skid status`: a row per service (or container) with its state, health and container id."""
    table = Table(box=None, pad_edge=False)
    for col in ("service", "state", "health", "container"):
        table.add_column(col)
    for r in rows:
        state = r["state"] + (f" ({r['exit_code']})" if r.get("exit_code") is not None else "")
        table.add_row(r["service"], Text(state, style=STATE_STYLE.get(r["state"], "yellow")), r["health"] or "-",
                      r["container"] or "-")
    return table


def cmd_status(stack: Stack, options: Options, as_json: bool, out: Console) -> int:
    engine = connect_or_exit(options)
    try:
        rows = status_rows(stack, engine)
    except ENGINE_ERRORS as exc:
        say(f"skid: engine failed while listing containers: {describe_error(exc)}")
        return EXIT_ENGINE
    finally:
        engine.close()
    if as_json:
        print(json.dumps({"project": stack.project, "services": rows}, indent=2))
        return 0
    table = status_table(rows)
    out.print(Text(f"{engine.info.describe()} at {engine.info.candidate.describe()} · project {stack.project}",
                   style="dim"), soft_wrap=True)
    out.print(table)
    return 0
