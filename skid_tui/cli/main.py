"""`skid`: the dashboard by default, and the same model from a shell (`check`, `status`)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from skid_tui import __version__
from skid_tui.config import Options, UsageError, active_profile, load
from skid_tui.engine.client import ENGINE_ERRORS, Engine, EngineUnavailable, describe_error
from skid_tui.engine.containers import read_project, service_containers
from skid_tui.engine.discovery import engine_candidates
from skid_tui.model import statefile
from skid_tui.model.active import remembered_profile
from skid_tui.safe_text import is_safe, terminal_line, visible, visible_lines
from skid_tui.stack import ConfigError, Stack, format_bytes

EXIT_USAGE = 2  # bad input: a config error, an unknown option or profile
EXIT_ENGINE = 1  # no engine answered, or it failed mid-way


class OneLineParser(argparse.ArgumentParser):
    """argparse prints usage plus an error; skid prints the error as one line."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see `skid --help`)\n")


class SafeConsole(Console):
    """A Console that never parses markup and shows every control character of what it prints as text.

    Names, labels, images and compose output come from containers and files: a `[bold]` in a label stays
    `[bold]`, an ESC in a container name reaches the terminal as `^[`. Only Rich's own styling (control
    segments and styles) reaches the terminal as escape sequences.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(markup=False, highlight=False, emoji=False, **kwargs)

    def render_str(self, text: str, **kwargs: Any) -> Text:
        # Strings (table cells, print arguments) are made visible before layout, so columns fit what shows.
        kwargs["markup"] = False
        return super().render_str(visible_lines(text), **kwargs)

    def render(self, renderable: RenderableType, options: ConsoleOptions | None = None) -> RenderResult:
        # The backstop: a Text built from data elsewhere is made visible here, at the last moment.
        for segment in super().render(renderable, options):
            if segment.control is None and not is_safe(segment.text):
                yield Segment(visible_lines(segment.text), segment.style)
            else:
                yield segment


def say(message: str) -> None:
    """One line on stderr; text from files or the engine in it is shown, not obeyed."""
    print(visible(message), file=sys.stderr)


def _global_options(parser: argparse.ArgumentParser, default: Any) -> None:
    g = parser.add_argument_group("stack and engine")
    g.add_argument("--compose", "-f", action="append", metavar="FILE", default=default,
                   help="compose file, repeatable; later files override (default: $SKID_COMPOSE or the "
                        "bundled Skidbladnir stack)")
    g.add_argument("--profiles", metavar="DIR", default=default,
                   help="directory of laptop profiles (*.yaml); default: $SKID_PROFILES or the bundled ones")
    g.add_argument("--project-name", "-p", metavar="NAME", default=default, help="compose project name")
    g.add_argument("--host", "-H", metavar="URL", default=default,
                   help="engine URL, e.g. unix:///var/run/docker.sock (default: as the docker CLI finds it)")
    g.add_argument("--profile", metavar="NAME", default=default, help="the active laptop profile")
    g.add_argument("--compose-cmd", metavar="CMD", default=default,
                   help='the compose tool to run, e.g. "docker compose", "docker-compose", "podman-compose" '
                        "(default: the first of those that answers)")
    g.add_argument("--stats", choices=("auto", "cgroup", "api"), default=default,
                   help="how to sample resources: direct cgroup reads where possible (auto, the default), "
                        "only cgroup reads, or only the engine's stats streams")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="skid",
        description="A live dashboard for the Skidbladnir stack: each service's state against its budget.",
    )
    parser.add_argument("--version", action="version", version=f"skid {__version__}")
    _global_options(parser, None)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    # Global options are accepted after the command too; SUPPRESS keeps those given before it.
    for name, help_text in (
        ("dashboard", "open the dashboard (the default)"),
        ("check", "validate the compose files and profiles; print each profile's budget"),
        ("status", "one row per service: state, health, container"),
        ("monitor", "live memory and CPU of every service against its budget, as a plain table"),
        ("up", "start a profile (stopping what it does not include) or services: `up app`, `up redis minio`"),
        ("down", "stop and remove the project's containers; volumes are kept unless --volumes"),
        ("stop", "stop services (containers and volumes are kept)"),
        ("restart", "restart services"),
        ("toggle", "start a stopped service, stop a running one"),
        ("llm", "start (after a memory check) or stop the LLM advisor"),
        ("profiles", "every profile against what runs now: starts, stops, totals, verdict"),
        ("logs", "a service's logs: the last lines, and with --follow what comes, across restarts"),
        ("build", "build services' images through the engine's build API (default: every service with build:)"),
        ("test", "run test suites (x-skid-tests: in the compose files), each in a fresh container with a memory limit"),
    ):
        p = sub.add_parser(name, help=help_text, description=help_text)
        _global_options(p, argparse.SUPPRESS)
        if name in ("check", "status", "monitor", "profiles"):
            p.add_argument("--json", action="store_true", help="print JSON for scripts")
        if name == "up":
            p.add_argument("targets", nargs="*", metavar="PROFILE|SERVICE",
                           help="a profile, or services (default: the active profile)")
        if name == "down":
            p.add_argument("--volumes", "-v", action="store_true",
                           help="also delete the project's volumes, named and anonymous (lists each with its size, "
                                "then asks you to type the project name)")
            p.add_argument("--yes", "-y", action="store_true", help="do not ask before deleting volumes")
        if name in ("stop", "restart"):
            p.add_argument("services", nargs="+", metavar="SERVICE")
        if name == "toggle":
            p.add_argument("service", metavar="SERVICE")
        if name == "logs":
            p.add_argument("service", metavar="SERVICE")
            p.add_argument("--follow", "-F", action="store_true", help="keep printing new lines (Ctrl-C ends)")
            p.add_argument("--tail", "-n", type=int, default=500, metavar="N", help="lines of history (default 500)")
            p.add_argument("--timestamps", "-t", action="store_true", help="the engine's timestamp on each line")
        if name == "build":
            p.add_argument("services", nargs="*", metavar="SERVICE", help="services to build (default: all buildable)")
        if name == "test":
            p.add_argument("suites", nargs="*", metavar="SUITE", help="suites to run (default: all)")
            p.add_argument("--memory-limit", "-m", default="medium", metavar="LIMIT",
                           help="the test container's memory limit: low (512M), medium (1G, the default), "
                                "high (2G) or a size such as 768M")
        if name == "llm":
            p.add_argument("state", choices=("on", "off"))
            p.add_argument("--force", action="store_true", help="start even when it does not fit in memory")
        if name == "monitor":
            p.add_argument("--interval", type=float, default=2.0, metavar="SECONDS",
                           help="seconds between redraws (default 2)")
            p.add_argument("--once", action="store_true",
                           help="print one complete sample and exit (waits at most 3 s for CPU readings)")
    return parser


def options_from(args: argparse.Namespace) -> Options:
    return Options(
        compose=tuple(args.compose or ()),
        profiles=args.profiles,
        project_name=args.project_name,
        host=args.host,
        profile=args.profile,
        stats=args.stats or "auto",
        compose_cmd=args.compose_cmd,
    )


def load_or_exit(options: Options, err: Console) -> Stack:
    try:
        stack = load(options)
    except ConfigError as exc:
        for issue in exc.issues:
            say(str(issue))
        raise SystemExit(EXIT_USAGE) from None
    for warning in stack.warnings:
        say(str(warning))
    return stack


def _mem(value: int | None) -> str:
    return format_bytes(value) if value is not None else "no budget"


def check_report(stack: Stack) -> dict[str, Any]:
    """`skid check --json`: every service's budget and profiles, every profile's totals."""
    return {
        "project": stack.project,
        "compose_files": [str(f) for f in stack.compose_files],
        "profiles_dir": str(stack.profiles_dir) if stack.profiles_dir else None,
        "services": {
            name: {
                "mem_standard_bytes": s.budget.mem_standard,
                "mem_max_bytes": s.budget.mem_max,
                "cpus_reservation": s.budget.cpus_reservation,
                "cpus_limit": s.budget.cpus_limit,
                "profiles": [p.name for p in stack.profiles.values() if name in p.services],
                "compose_profiles": list(s.compose_profiles),
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
    colours = {"running": "green", "exited": "red", "not created": "dim"}
    for r in rows:
        state = r["state"] + (f" ({r['exit_code']})" if r.get("exit_code") is not None else "")
        table.add_row(r["service"], Text(state, style=colours.get(r["state"], "yellow")), r["health"] or "-",
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


def cmd_monitor(stack: Stack, options: Options, args: argparse.Namespace, out: Console) -> int:
    from skid_tui.model import LiveModel, PeakStore
    from skid_tui.monitor import ModelFeed, render, run_live, wait_complete

    if args.interval <= 0:
        raise UsageError(f"--interval must be a positive number of seconds, not {args.interval:g}")
    profile = active_profile(stack, options.profile, remembered_profile(stack.project))
    model = LiveModel(stack, profile, peaks=PeakStore.default())
    with ModelFeed(model, stack.project, lambda: engine_candidates(options.host), options.stats) as feed:
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


def cmd_logs(stack: Stack, options: Options, args: argparse.Namespace) -> int:
    """`skid logs SERVICE`: the same stream as the dashboard's log pane, on stdout."""
    from skid_tui.engine.logs import LogFollower, LogLine, open_logs, read_lines, service_container

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


def lifecycle_command(command: str, stack: Stack, options: Options, args: argparse.Namespace, out: Console) -> int:
    from skid_tui import lifecycle
    from skid_tui.ops.operations import Kind

    cmd = options.compose_cmd
    if command == "up":
        return lifecycle.cmd_up(stack, options, list(args.targets), cmd, out)
    if command == "down":
        return lifecycle.cmd_down(stack, options, args.volumes, args.yes, cmd, out)
    if command in ("stop", "restart"):
        return lifecycle.cmd_services(stack, options, Kind(command), list(args.services), cmd, out)
    if command == "toggle":
        return lifecycle.cmd_toggle(stack, options, args.service, cmd, out)
    if command == "llm":
        return lifecycle.cmd_llm(stack, options, args.state, cmd, args.force, out)
    return lifecycle.cmd_profiles(stack, options, out, args.json)


def cmd_dashboard(stack: Stack, options: Options) -> int:
    from skid_tui.ui.app import SkidApp  # Textual loads only for the dashboard: the CLI stays quick

    statefile.set_warning_handler(None)  # state-file warnings wait for the app: a notification, not stderr
    profile = active_profile(stack, options.profile, remembered_profile(stack.project))
    app = SkidApp(stack, profile, lambda: engine_candidates(options.host), stats=options.stats,
                  compose_cmd=options.compose_cmd)
    try:
        app.run()
    finally:
        for line in [*app.lifecycle.exit_lines, *end_compose_children()]:  # the second: what the app could not stop
            say(f"skid: {line}")
    for line in statefile.take_warnings():  # a state file the app's last save could not use, after the screen is back
        say(line)
    return 0


def end_compose_children() -> list[str]:
    """Compose processes skid started that still run as it exits: ended, and one line each saying how."""
    from skid_tui.engine.compose_tool import end_children, how_it_ended

    stopped, killed = end_children()
    return ([f"{name} was still running: {how_it_ended(False)}" for name in stopped]
            + [f"{name} was still running: {how_it_ended(True)}" for name in killed])


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    options = options_from(args)
    # Piped output has no terminal width to honour: do not squeeze tables into 80 columns.
    out = SafeConsole(width=None if sys.stdout.isatty() else 160)
    err = SafeConsole(stderr=True)
    statefile.set_warning_handler(say)  # a state file ignored or set aside: one line on stderr, once
    try:
        stack = load_or_exit(options, err)
        if options.profile:
            active_profile(stack, options.profile)  # an unknown --profile is a usage error everywhere
        command = args.command or "dashboard"
        if command == "check":
            return cmd_check(stack, args.json, out)
        if command == "status":
            return cmd_status(stack, options, args.json, out)
        if command == "monitor":
            return cmd_monitor(stack, options, args, out)
        if command == "logs":
            return cmd_logs(stack, options, args)
        if command in ("build", "test"):
            from skid_tui import buildtest

            if command == "build":
                return buildtest.cmd_build(stack, options, list(args.services), out)
            return buildtest.cmd_test(stack, options, list(args.suites), args.memory_limit, out)
        if command in ("up", "down", "stop", "restart", "toggle", "llm", "profiles"):
            return lifecycle_command(command, stack, options, args, out)
        return cmd_dashboard(stack, options)
    except UsageError as exc:
        say(f"skid: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `skid status | head`: the reader left; say nothing more.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
