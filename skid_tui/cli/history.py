"""`skid rightsize` and `skid export`: what the history store knows, for people and for scripts."""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from skid_tui.cli.output import say
from skid_tui.model.history import HistoryStore
from skid_tui.ops.config import UsageError
from skid_tui.ops.rightsize import Rightsizing, override_services, parse_span, rightsize, watched_text
from skid_tui.ops.update import UpdateRequest, compose_spelling, override_yaml
from skid_tui.stack import Stack
from skid_tui.stack.sizes import compact_bytes

EXPORT_FIELDS = ("time", "resolution", "service", "container", "samples", "mem_avg", "mem_max", "cpu_avg",
                 "cpu_max", "net_rx_bps", "net_tx_bps", "pids_max")


def add_rightsize_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--since", default="7d", metavar="SPAN", help="how far back to look: 7d (default), 36h, 2w")
    p.add_argument("--json", action="store_true", help="print JSON for scripts")
    p.add_argument("--enough", default="1h", metavar="SPAN",
                   help="how long a service must have been watched in the range for a suggestion (default 1h)")
    p.add_argument("--write", metavar="FILE", type=Path,
                   help="write the suggestions as a compose override file (deploy.resources only; your compose "
                        "files are never edited): use it with --compose BASE --compose FILE")


def add_export_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--since", default="1d", metavar="SPAN", help="how far back: 1d (default), 6h, 7d")
    p.add_argument("--format", choices=("csv", "json"), default="csv", help="csv (default) or json (one array)")
    p.add_argument("--output", "-o", metavar="FILE", type=Path, help="write to FILE instead of stdout")


def _span(text: str, option: str = "--since") -> float:
    try:
        return parse_span(text)
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None


def _budget(std: int | None, mx: int | None) -> str:
    if std is None and mx is None:
        return "none"
    return f"{compact_bytes(std) if std is not None else '-'}/{compact_bytes(mx) if mx is not None else '-'}"


def _when(t: float) -> str:
    return datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M")


def render(result: Rightsizing, project: str) -> Table | Text:
    table = Table(box=None, pad_edge=False, header_style="bold",
                  title=f"{project}: {_when(result.since)} to {_when(result.until)}", title_justify="left")
    for col, justify in (("service", "left"), ("now std/max", "right"), ("watched", "right"), ("p95", "right"),
                         ("max", "right"), ("OOM", "right"), ("suggested std/max", "right"), ("why", "left")):
        table.add_column(col, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for s in result.suggestions:
        suggested = (Text(_budget(s.suggested_standard, s.suggested_maximum), style="bold" if s.changed else "")
                     if s.enough else Text("-", style="dim"))
        table.add_row(
            s.service, _budget(s.standard, s.maximum), watched_text(s.samples),
            compact_bytes(s.p95) if s.p95 is not None else "-", compact_bytes(s.max_used) if s.max_used else "-",
            Text(str(s.oom_kills), style="bold red" if s.oom_kills else "dim"), suggested,
            Text(s.why, style="dim"),
        )
    return table


def profile_lines(result: Rightsizing) -> list[str]:
    lines = []
    for p in result.profiles:
        lines.append(f"  {p.profile}: standard {compact_bytes(p.standard_now)} -> {compact_bytes(p.standard_after)}, "
                     f"maximum {compact_bytes(p.maximum_now)} -> {compact_bytes(p.maximum_after)} "
                     f"(host budget {compact_bytes(p.host_budget)})")
    return lines


def cmd_rightsize(stack: Stack, store: HistoryStore, args: argparse.Namespace, out: Console) -> int:
    span = _span(args.since)
    needed = max(1, round(_span(args.enough, "--enough")))  # readings come one a second
    store.open()
    result = rightsize(store, stack, span, needed=needed)
    changes = override_services(result)
    if args.write is not None:
        requests = [UpdateRequest(service, memory=mx, reservation=std, cpus=None)
                    for service, (std, mx) in changes.items()]
        try:
            # The compose files' own spelling (cpus/mem_limit or deploy.resources): compose refuses two values.
            spelling = compose_spelling(stack.compose_files, list(changes))
            args.write.write_text(override_yaml(requests, spelling), encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {args.write}: {exc.strerror or exc}") from None
    if args.json:
        print(json.dumps({"project": stack.project, **result.to_json(),
                          "written": str(args.write) if args.write is not None else None}, indent=2))
        return 0
    out.print(render(result, stack.project))
    out.print()
    out.print("profiles, every member at its standard and at its maximum (now -> suggested):")
    for line in profile_lines(result):
        out.print(line)
    out.print()
    out.print(f"rule: {result.rule}", style="dim")
    if args.write is not None:
        if changes:
            files = " ".join(f"--compose {f}" for f in stack.compose_files)
            say(f"skid: wrote {len(changes)} service budget(s) to {args.write}; see them with: "
                f"skid {files} --compose {args.write} check")
        else:
            say(f"skid: wrote {args.write} with no services: no suggestion changes a budget")
    return 0


def cmd_export(stack: Stack, store: HistoryStore, args: argparse.Namespace) -> int:
    span = _span(args.since)
    store.open()
    rows = store.export_rows(stack.project, time.time() - span)
    try:
        stream = args.output.open("w", encoding="utf-8", newline="") if args.output is not None else sys.stdout
    except OSError as exc:
        raise UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    try:
        if args.format == "csv":
            writer = csv.DictWriter(stream, fieldnames=EXPORT_FIELDS, extrasaction="ignore")
            writer.writeheader()
            for row in rows:
                writer.writerow(row)
        else:
            json.dump(list(rows), stream)
            stream.write("\n")
    finally:
        if stream is not sys.stdout:
            stream.close()
    return 0
