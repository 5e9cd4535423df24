"""`skid update SERVICE --memory 768m [--reservation 384m] [--cpus 1] [--write-override FILE]`: the running
containers' limits changed now, one line per container, then what keeps them (the next `compose up` does not)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.text import Text

from skid_tui.cli.output import EXIT_ENGINE, EXIT_USAGE, say
from skid_tui.engine.client import ENGINE_ERRORS, Engine, describe_error
from skid_tui.engine.discovery import engine_candidates
from skid_tui.engine.update import ContainerLimits
from skid_tui.ops.config import Options, UsageError
from skid_tui.ops.update import (
    ContainerChange,
    UpdateError,
    UpdateRequest,
    UpdateResult,
    apply,
    compose_spelling,
    override_yaml,
)
from skid_tui.stack import Stack
from skid_tui.stack.sizes import compact_bytes, format_cpus


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("service", metavar="SERVICE")
    p.add_argument("--memory", "-m", metavar="SIZE", help="the memory limit (the budget's maximum), e.g. 768m")
    p.add_argument("--reservation", metavar="SIZE",
                   help="the memory reservation (the budget's standard), at most the limit, e.g. 384m")
    p.add_argument("--cpus", metavar="N", help="the CPU limit in cores, e.g. 1 or 0.5")
    p.add_argument("--write-override", metavar="FILE", type=Path,
                   help="also write the new limits as a compose override file, so the next `compose up` keeps "
                        "them: use it with --compose BASE --compose FILE")


def _mem(n: int) -> str:
    return compact_bytes(n) if n else "none"


def _cpus(limits: ContainerLimits) -> str:
    return format_cpus(limits.cpus) if limits.cpus else "none"


def change_line(service: str, change: ContainerChange, request: UpdateRequest) -> str:
    """`api: memory 512M -> 768M, reservation 256M -> 384M (container abc123)`: what was asked for changed."""
    before, after = change.before, change.after
    parts = []
    if request.memory is not None:
        parts.append(f"memory {_mem(before.memory)} -> {_mem(after.memory)}")
    if request.reservation is not None:
        parts.append(f"reservation {_mem(before.reservation)} -> {_mem(after.reservation)}")
    if request.cpus is not None:
        parts.append(f"cpus {_cpus(before)} -> {_cpus(after)}")
    return f"{service}: {', '.join(parts)} (container {change.id})"


def not_kept(change: ContainerChange, request: UpdateRequest) -> list[str]:
    """What the engine reports differently from what it accepted: an engine that answers yes and changes
    nothing must not pass for one that changed it."""
    after = change.after
    wrong = []
    if request.memory is not None and after.memory != request.memory:
        wrong.append(f"memory {_mem(after.memory)}, not {compact_bytes(request.memory)}")
    if request.reservation is not None and after.reservation != request.reservation:
        wrong.append(f"reservation {_mem(after.reservation)}, not {compact_bytes(request.reservation)}")
    if request.cpus is not None and abs(after.cpus - request.cpus) > 0.005:
        wrong.append(f"cpus {_cpus(after)}, not {format_cpus(request.cpus)}")
    return wrong


def cmd_update(stack: Stack, options: Options, args: argparse.Namespace, out: Console) -> int:
    """0 changed; 1 the engine refused, failed or the service is not running; 2 bad input (nothing changed)."""
    if args.service not in stack.services:  # UsageError: main says it in one line, exit 2
        raise UsageError(f"unknown service '{args.service}' (expected one of: {', '.join(stack.services)})")
    request = UpdateRequest.parse(args.service, args.memory, args.reservation, args.cpus)
    try:
        engine = Engine.first_answering(engine_candidates(options.host))
    except ENGINE_ERRORS as exc:
        say(f"skid: no engine: {describe_error(exc)}")
        return EXIT_ENGINE
    try:
        result = apply(engine, stack, request)
    except UpdateError as exc:
        for change in exc.done:
            out.print(change_line(request.service, change, request))
        say(f"skid: {exc}")
        return EXIT_ENGINE
    finally:
        engine.close()
    return _report(stack, request, result, args.write_override, out)


def _report(stack: Stack, request: UpdateRequest, result: UpdateResult, override: Path | None,
            out: Console) -> int:
    status = 0
    for change in result.changes:
        out.print(change_line(result.service, change, request))
        wrong = not_kept(change, request)
        if wrong:
            say(f"skid: {change.name} ({change.id}): the engine accepted the change but reports {'; '.join(wrong)}")
            status = EXIT_ENGINE
    if override is not None:
        text = override_yaml([request], compose_spelling(stack.compose_files, [request.service]))
        try:
            override.write_text(text, encoding="utf-8")
        except OSError as exc:
            say(f"skid: cannot write {override}: {exc.strerror or exc} (the running limits were changed)")
            return EXIT_USAGE
        out.print(Text(f"wrote {override}: the next `compose up` keeps these limits when it is given after your "
                       "compose files (--compose BASE --compose FILE, or compose -f BASE -f FILE)", style="dim"))
    else:
        out.print(Text(f"note: {result.note} (or run this again with --write-override FILE)", style="dim"))
    return status
