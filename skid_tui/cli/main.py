"""`skid`: the dashboard by default, and the same model from a shell (`check`, `status`)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from rich.console import Console
from rich.table import Table

from skid_tui import __version__
from skid_tui.cli.dashboard import cmd_dashboard
from skid_tui.cli.logs import cmd_logs
from skid_tui.cli.monitor import cmd_monitor
from skid_tui.cli.output import EXIT_USAGE, SafeConsole, say
from skid_tui.cli.status import cmd_check, cmd_status
from skid_tui.model import statefile
from skid_tui.ops import keys as key_table
from skid_tui.ops.config import Options, UsageError, active_profile, load
from skid_tui.ops.userconfig import ConfigIssue, UserConfig, config_path, load_config
from skid_tui.stack import ConfigError, Stack


def cmd_keys(config: UserConfig, issues: list[ConfigIssue], out: Console) -> int:
    """`skid keys`: the key table as the dashboard binds it, the user's [keys] applied; exit 2 when the config
    file has problems (each said in one line; the keys shown are then the ones that apply)."""
    for issue in issues:
        say(str(issue))
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
    for column in ("BINDING ID", "KEYS", "WHAT", ""):
        table.add_column(column)
    for title, rows in key_table.by_scope(config.keys):
        table.add_row(title, "", "", "", style="bold cyan")
        for binding_id, keys, what in rows:
            table.add_row(binding_id, keys, what, "(yours)" if binding_id in config.keys else "")
    out.print(table)
    where = config.path or config_path()
    out.print(f"\nYour keys go in {where} under [keys], as \"binding.id\" = \"key,key\".")
    return EXIT_USAGE if issues else 0


# `skid VERB SERVICE...`: the dashboard's operation of the same name (ops.operations.Kind).
SERVICE_OPERATIONS = ("stop", "restart", "kill", "pause", "unpause", "recreate")


class OneLineParser(argparse.ArgumentParser):
    """argparse prints usage plus an error; skid prints the error as one line."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see `skid --help`)\n")


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
    g.add_argument("--stats", choices=("auto", "cgroup", "api", "agent"), default=default,
                   help="how to sample resources: direct cgroup reads where possible (auto, the default), "
                        "only cgroup reads, only the engine's stats streams, or a small agent container that "
                        "reads the engine's cgroups (cheap where skid cannot read them itself: Docker Desktop, "
                        "a remote engine)")


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
        ("keys", "every key of the dashboard by binding id, with your config file's [keys] applied"),
        ("check", "validate the compose files and profiles; print each profile's budget"),
        ("status", "one row per service: state, health, container"),
        ("monitor", "live memory and CPU of every service against its budget, as a plain table"),
        ("up", "start a profile (stopping what it does not include) or services: `up app`, `up redis minio`"),
        ("down", "stop and remove the project's containers; volumes are kept unless --volumes"),
        ("stop", "stop services (containers and volumes are kept)"),
        ("restart", "restart services"),
        ("kill", "kill services' containers (SIGKILL, no grace period); containers and volumes are kept"),
        ("pause", "pause services (their processes frozen, their memory kept)"),
        ("unpause", "unpause paused services"),
        ("recreate", "new containers for services (compose up --force-recreate --no-deps); volumes are kept"),
        ("toggle", "start a stopped service, stop a running one"),
        ("llm", "start (after a memory check) or stop the LLM advisor"),
        ("profiles", "every profile against what runs now: starts, stops, totals, verdict"),
        ("shell", "a shell in a service's container (bash, else sh), or `skid shell SERVICE -- CMD ...`"),
        ("inspect", "a service's containers: state, exit codes, health results, env (secrets masked), mounts, ..."),
        ("logs", "a service's logs (or every service's, merged): the last lines, and with --follow what comes"),
        ("build", "build services' images through the engine's build API (default: every service with build:)"),
        ("test", "run test suites (x-skid-tests: in the compose files), each in a fresh container with a memory limit"),
        ("rightsize", "what each service's memory budget should be, from its history: p95 and max used, a suggestion"),
        ("update", "change a running service's memory and CPU limits now (the next compose up resets them)"),
        ("export", "the history of every service as CSV or JSON"),
        ("metrics", "serve every service's numbers in the Prometheus text format (loopback only by default)"),
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
        if name in SERVICE_OPERATIONS:
            p.add_argument("services", nargs="+", metavar="SERVICE")
        if name == "toggle":
            p.add_argument("service", metavar="SERVICE")
        if name == "shell":
            p.add_argument("--force", action="store_true",
                           help="start a service that is not running even when it does not fit in memory")
            p.add_argument("service", metavar="SERVICE")
            p.add_argument("cmd_args", nargs=argparse.REMAINDER, metavar="-- CMD ...",
                           help="a command to run instead of a shell; its exit status is skid's")
        if name == "inspect":
            p.add_argument("service", metavar="SERVICE")
            p.add_argument("--json", action="store_true", help="print JSON for scripts (a secret's value is null)")
            p.add_argument("--show-secrets", action="store_true",
                           help="show the values of variables named like PASSWORD, SECRET, TOKEN, KEY")
        if name == "logs":
            p.add_argument("service", metavar="SERVICE", nargs="?",
                           help="one service (default, or with --all: every service, merged by time)")
            p.add_argument("--all", "-a", action="store_true", help="every service's logs, merged by timestamp")
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
        if name == "rightsize":
            from skid_tui.cli.history import add_rightsize_arguments

            add_rightsize_arguments(p)
        if name == "export":
            from skid_tui.cli.history import add_export_arguments

            add_export_arguments(p)
        if name == "update":
            from skid_tui.cli.update import add_arguments as add_update_arguments

            add_update_arguments(p)
        if name == "metrics":
            from skid_tui.cli.metrics import add_arguments as add_metrics_arguments

            add_metrics_arguments(p)
        if name == "monitor":
            p.add_argument("--interval", type=float, default=2.0, metavar="SECONDS",
                           help="seconds between redraws (default 2)")
            p.add_argument("--once", action="store_true",
                           help="print one complete sample and exit (waits at most 3 s for CPU readings)")
    return parser


def options_from(args: argparse.Namespace, config: UserConfig | None = None) -> Options:
    """The command line's options, the config file's settings where the command line says nothing."""
    config = config or UserConfig()
    return Options(
        compose=tuple(args.compose or ()),
        profiles=args.profiles,
        project_name=args.project_name,
        host=args.host,
        profile=args.profile,
        stats=args.stats or config.stats or "auto",
        compose_cmd=args.compose_cmd,
        default_compose=config.compose,
        default_profile=config.profile,
        history_bytes=config.history,
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


def lifecycle_command(command: str, stack: Stack, options: Options, args: argparse.Namespace, out: Console) -> int:
    from skid_tui.cli import lifecycle
    from skid_tui.ops.operations import Kind

    cmd = options.compose_cmd
    if command == "up":
        return lifecycle.cmd_up(stack, options, list(args.targets), cmd, out)
    if command == "down":
        return lifecycle.cmd_down(stack, options, args.volumes, args.yes, cmd, out)
    if command in SERVICE_OPERATIONS:
        return lifecycle.cmd_services(stack, options, Kind(command), list(args.services), cmd, out)
    if command == "toggle":
        return lifecycle.cmd_toggle(stack, options, args.service, cmd, out)
    if command == "llm":
        return lifecycle.cmd_llm(stack, options, args.state, cmd, args.force, out)
    return lifecycle.cmd_profiles(stack, options, out, args.json)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    command = args.command or "dashboard"
    config, config_issues = load_config(bindings=key_table.defaults())
    # Piped output has no terminal width to honour: do not squeeze tables into 80 columns.
    out = SafeConsole(width=None if sys.stdout.isatty() else 160)
    if command == "keys":
        return cmd_keys(config, config_issues, out)
    if config_issues and command != "dashboard":
        # A wrong config file is bad input: one line per problem, nothing done. The dashboard shows them
        # itself and starts with the defaults.
        for issue in config_issues:
            say(str(issue))
        return EXIT_USAGE
    options = options_from(args, config)
    err = SafeConsole(stderr=True)
    statefile.set_warning_handler(say)  # a state file ignored or set aside: one line on stderr, once
    try:
        stack = load_or_exit(options, err)
        if options.profile:
            active_profile(stack, options.profile)  # an unknown --profile is a usage error everywhere
        if command == "check":
            return cmd_check(stack, args.json, out)
        if command == "status":
            return cmd_status(stack, options, args.json, out)
        if command == "monitor":
            return cmd_monitor(stack, options, args, out)
        if command == "logs":
            return cmd_logs(stack, options, args)
        if command == "shell":
            from skid_tui.cli.shell import cmd_shell

            return cmd_shell(stack, options, args.service, list(args.cmd_args), args.force)
        if command == "inspect":
            from skid_tui.cli.inspect import cmd_inspect

            return cmd_inspect(stack, options, args.service, args.json, args.show_secrets, out)
        if command in ("rightsize", "export"):
            from skid_tui.cli import history
            from skid_tui.model.history import DEFAULT_MAX_BYTES, HistoryStore

            store = HistoryStore.default(options.history_bytes or DEFAULT_MAX_BYTES)
            if command == "rightsize":
                return history.cmd_rightsize(stack, store, args, out)
            return history.cmd_export(stack, store, args)
        if command == "update":
            from skid_tui.cli.update import cmd_update

            return cmd_update(stack, options, args, out)
        if command == "metrics":
            from skid_tui.cli.metrics import cmd_metrics

            return cmd_metrics(stack, options, args, out)
        if command in ("build", "test"):
            from skid_tui.cli import buildtest

            if command == "build":
                return buildtest.cmd_build(stack, options, list(args.services), out)
            return buildtest.cmd_test(stack, options, list(args.suites), args.memory_limit, out)
        if command in ("up", "down", "toggle", "llm", "profiles", *SERVICE_OPERATIONS):
            return lifecycle_command(command, stack, options, args, out)
        return cmd_dashboard(stack, options, config, config_issues)
    except UsageError as exc:
        say(f"skid: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `skid status | head`: the reader left; say nothing more.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
