"""`skid shell SERVICE [-- CMD ...]`: a shell (or CMD) in the service's container, on this terminal; the exit
status is the command's. A service that is not running is started first when its maximum fits."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from skid_tui.cli.lifecycle import (
    EXIT_FAILED,
    _active,
    _compose,
    _connect,
    _one_line_errors,
    _running,
    _say,
    check_services,
    checked_fit,
)
from skid_tui.cli.output import SafeConsole
from skid_tui.engine.client import Engine
from skid_tui.ops.config import Options
from skid_tui.ops.operations import Kind
from skid_tui.ops.shell import Session, ShellError, plan_shell
from skid_tui.stack import Stack, format_bytes


@_one_line_errors
def cmd_shell(stack: Stack, options: Options, service: str, command: list[str], force: bool) -> int:
    """What skid says before the session goes to stderr (compose's lines too): stdout is the command's."""
    err = SafeConsole(stderr=True)
    [name] = check_services(stack, [service])
    if command[:1] == ["--"]:
        command = command[1:]
    engine = _connect(options)
    if engine is None:
        _say("no container engine answered: no shell to open")
        return EXIT_FAILED
    try:
        if name not in (_running(stack, engine) or ()):
            status = _start_first(stack, options, name, force, err, engine=engine)
            if status:
                return status
        try:
            session = Session(engine, plan_shell(engine, stack, name, command))
            if session.plan.note:
                _say(session.plan.note)
            return session.run()
        except ShellError as exc:
            _say(str(exc))
            return EXIT_FAILED
    finally:
        engine.close()


def _start_first(stack: Stack, options: Options, name: str, force: bool, out: Console, *, engine: Engine) -> int:
    """The service is started as `skid llm on` starts the LLM: when its maximum fits (or --force)."""
    check = checked_fit(stack, options, _active(stack, options), name, out)
    if check is None:
        _say(f"{name} is not running and the engine's free memory is unknown: start it with `skid up {name}`")
        return EXIT_FAILED
    if not check.fits and not force:
        _say(f"{name} is not running and does not fit: it needs {format_bytes(check.need)}, "
             f"{format_bytes(check.free)} is free (pass --force to start it anyway)")
        return EXIT_FAILED
    out.print(Text(f"{name} is not running: starting it first", style="dim"))
    compose = _compose(stack, options, options.compose_cmd, out, engine)
    if not compose.operation(Kind.START, [name]):
        return compose.finish()
    return 0
