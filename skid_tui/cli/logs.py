"""`skid logs SERVICE`: the same stream as the dashboard's log pane, on stdout."""

from __future__ import annotations

import argparse
import sys

from skid_tui.cli.output import EXIT_ENGINE, say
from skid_tui.cli.status import connect_or_exit
from skid_tui.engine.client import ENGINE_ERRORS, describe_error
from skid_tui.engine.logs import LogFollower, LogLine, open_logs, read_lines, service_container
from skid_tui.ops.config import Options, UsageError
from skid_tui.safe_text import terminal_line
from skid_tui.stack import Stack


def cmd_logs(stack: Stack, options: Options, args: argparse.Namespace) -> int:
    """`skid logs SERVICE`: the same stream as the dashboard's log pane, on stdout."""

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
