"""`skid logs SERVICE`: the same stream as the dashboard's log pane, on stdout."""

from __future__ import annotations

import argparse
import sys
import threading
import time

from skid_tui.cli.output import EXIT_ENGINE, say
from skid_tui.cli.status import connect_or_exit
from skid_tui.engine.client import ENGINE_ERRORS, describe_error
from skid_tui.engine.containers import read_project, service_containers
from skid_tui.engine.logs import LogFollower, LogLine, open_logs, read_lines, service_container
from skid_tui.model.logmerge import LogMerger
from skid_tui.ops.config import Options, UsageError
from skid_tui.safe_text import terminal_line
from skid_tui.stack import Stack


def cmd_logs(stack: Stack, options: Options, args: argparse.Namespace) -> int:
    """`skid logs SERVICE`: the same stream as the dashboard's log pane, on stdout."""
    if args.all or args.service is None:
        if args.service is not None:
            raise UsageError("--all takes no service: it prints every service's logs")
        return cmd_stack_logs(stack, options, args)
    if args.service not in stack.services:
        raise UsageError(f"unknown service '{args.service}' (expected one of: {', '.join(stack.services)})")
    if args.tail < 0:
        raise UsageError(f"--tail must be 0 or more, not {args.tail}")
    resolve = service_container(stack.project, args.service)

    # Piped, lines go out as the container wrote them (as `docker logs` does); on a terminal, only their colours
    # are obeyed: a title change, a clear screen or a cursor move in a log line is shown as text.
    shown = terminal_line if sys.stdout.isatty() else str

    def emit(lines: list[LogLine]) -> None:
        text = "".join(f"{line.ts} {shown(line.text)}\n" if args.timestamps and line.ts else f"{shown(line.text)}\n"
                       for line in lines)
        sys.stdout.write(text)
        sys.stdout.flush()

    if args.follow:
        follower = LogFollower(lambda: connect_or_exit(options), resolve, emit, tail=args.tail)
        try:
            follower.run()
        except KeyboardInterrupt:
            follower.stop()
        return 0
    engine = connect_or_exit(options)
    try:
        current = resolve(engine)
        if current is None:
            say(f"skid: {args.service} has no container (start it with `skid up {args.service}`)")
            return EXIT_ENGINE
        for batch in read_lines(open_logs(engine, current.id, follow=False, tail=args.tail, since=None),
                                multiplexed=not current.tty):
            emit(batch)
    except ENGINE_ERRORS as exc:
        say(f"skid: reading the logs of {args.service} failed: {describe_error(exc)}")
        return EXIT_ENGINE
    finally:
        engine.close()
    return 0


def cmd_stack_logs(stack: Stack, options: Options, args: argparse.Namespace) -> int:
    """`skid logs` / `skid logs --all`: every service's logs merged by timestamp, each line prefixed by its
    service, as the dashboard's `A` pane shows them (model.logmerge)."""
    if args.tail < 0:
        raise UsageError(f"--tail must be 0 or more, not {args.tail}")
    tty = sys.stdout.isatty()
    shown = terminal_line if tty else str
    engine = connect_or_exit(options)
    try:
        grouped = service_containers(read_project(engine, stack.project), stack.project)
    except ENGINE_ERRORS as exc:
        say(f"skid: listing the containers failed: {describe_error(exc)}")
        engine.close()
        return EXIT_ENGINE
    services = [s for s in stack.services if grouped.get(s)]
    if not services:
        engine.close()
        say(f"skid: no service of {stack.project} has a container (start some with `skid up`)")
        return EXIT_ENGINE
    merger = LogMerger(services, colour=tty, history_wait=5.0, quota=sys.maxsize)  # a terminal keeps every line

    def emit(lines: list[LogLine]) -> None:
        text = "".join(f"{line.ts} {shown(line.text)}\n" if args.timestamps and line.ts else f"{shown(line.text)}\n"
                       for line in lines)
        sys.stdout.write(text)
        sys.stdout.flush()

    if not args.follow:
        try:
            for service in services:
                merger.follow(service)
                current = service_container(stack.project, service)(engine)
                if current is None:
                    merger.heard(service)
                    continue
                for batch in read_lines(open_logs(engine, current.id, follow=False, tail=args.tail, since=None),
                                        multiplexed=not current.tty):
                    merger.add(service, batch)
                merger.heard(service)
        except ENGINE_ERRORS as exc:
            say(f"skid: reading the logs failed: {describe_error(exc)}")
            return EXIT_ENGINE
        finally:
            engine.close()
        emit(merger.take())
        return 0
    engine.close()
    followers = []
    for service in services:
        merger.follow(service)
        follower = LogFollower(lambda: connect_or_exit(options), service_container(stack.project, service),
                               lambda lines, s=service: merger.add(s, lines), tail=args.tail)
        followers.append(follower)
        threading.Thread(target=follower.run, name=f"skid-logs-{service}", daemon=True).start()
    try:
        while True:
            time.sleep(0.2)
            emit(merger.take())
    except KeyboardInterrupt:
        for follower in followers:
            follower.stop()
        emit(merger.take())
    return 0
