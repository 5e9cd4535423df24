"""The laptop script's lifecycle commands without a UI: `skid up`, `down`, `restart`, `toggle`, `llm`, `profiles`.

skid does not reimplement compose: every change is one call of the user's own compose tool, shown as the
exact command, its output streamed as it comes. skid adds the plan (what a profile stops, whether the LLM
fits) and ends with the same status table as `skid monitor --once`, so the numbers agree everywhere.
Each `cmd_*` returns the exit status: 0 done, 1 compose or the engine failed, 2 bad input.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import Any, ParamSpec, TextIO, cast

from rich.console import Console
from rich.table import Table
from rich.text import Text

from skid_tui.cli.monitor import render
from skid_tui.engine.client import ENGINE_ERRORS, Engine, EngineUnavailable, describe_error
from skid_tui.engine.compose_tool import ComposeInterrupted, ComposeNotFound, detect_compose
from skid_tui.engine.containers import read_project, service_containers
from skid_tui.engine.discovery import EngineCandidate, engine_candidates
from skid_tui.engine.sampler import StatsMode
from skid_tui.engine.volumes import VolumePlan, remove_volumes, volumes_to_remove
from skid_tui.model import LiveModel, PeakStore
from skid_tui.model.active import remember_profile, remembered_profile
from skid_tui.model.history import HistoryStore
from skid_tui.model.planning import ProfilePlan, StartCheck, start_check
from skid_tui.ops import lifecycle as ops_lifecycle
from skid_tui.ops.compose import ComposeTarget, engine_for_compose, run, shown
from skid_tui.ops.config import Options, UsageError, active_profile
from skid_tui.ops.lifecycle import (
    PEAK_BASIS,
    Expected,
    basis_note,
    expected_use,
    plan_profiles,
    profile_steps,
    recorded_peaks,
    usual_use,
)
from skid_tui.ops.operations import Kind, Operation, Progress, run_operation
from skid_tui.ops.sample import sample as ops_sample
from skid_tui.present import VERDICT_STYLE
from skid_tui.safe_text import visible
from skid_tui.stack import Profile, Stack, format_bytes

EXIT_OK = 0
EXIT_FAILED = 1  # compose failed, no engine answered, or the user did not confirm
EXIT_USAGE = 2  # bad input: an unknown service or profile, a bad state word

P = ParamSpec("P")


class BadInput(Exception):
    """Printed as one line on stderr, exit status 2."""


def _say(message: str) -> None:
    """Errors go to stderr as one line, so `skid up ... | tee log` still shows them."""
    print(visible(f"skid: {message}"), file=sys.stderr, flush=True)


def _one_line_errors(fn: Callable[P, int]) -> Callable[P, int]:
    """Bad input and a missing compose tool end a command with one line, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> int:
        try:
            return fn(*args, **kwargs)
        except (BadInput, UsageError) as exc:
            _say(str(exc))
            return EXIT_USAGE
        except (ComposeNotFound, EngineStuck) as exc:
            _say(str(exc))
            return EXIT_FAILED

    return wrapper


# -- what the user named -------------------------------------------------------------------------------


def _active(stack: Stack, options: Options) -> Profile | None:
    """`--profile`, else the profile last applied to this project, else the default one."""
    return active_profile(stack, options.profile, remembered_profile(stack.project), options.default_profile)


def check_services(stack: Stack, names: Iterable[str]) -> list[str]:
    """The names, deduplicated in order; BadInput on the first that is not a service of the stack."""
    names = list(dict.fromkeys(names))
    for name in names:
        if name not in stack.services:
            hint = f"; '{name}' is a profile: `skid up {name}` applies it on its own" if name in stack.profiles else ""
            raise BadInput(f"unknown service '{name}' (expected one of: {', '.join(stack.services)}){hint}")
    return names


def up_target(stack: Stack, options: Options, targets: Sequence[str]) -> Profile | list[str] | None:
    """What `skid up` was asked for: a profile to apply, or services to start (None: no profile at all).

    One name that is a profile is the profile, even when a service has the same name (the bundled
    `python`, `go` and `typescript`): `skid toggle python` starts the service alone.
    """
    if not targets:
        return _active(stack, options)
    if len(targets) == 1 and targets[0] in stack.profiles:
        return stack.profiles[targets[0]]
    return check_services(stack, targets)


def llm_service(stack: Stack, profile: Profile | None) -> str:
    """The LLM service (ops' rule); BadInput when there is none."""
    name = ops_lifecycle.llm_service(stack, profile)
    if name is None:
        where = f"profile '{profile.name}'" if profile else "the stack"
        raise BadInput(f"no LLM service: {where} has no on_demand service and the stack has no "
                       f"'{ops_lifecycle.LLM_FALLBACK}'")
    return name


def all_volumes(stack: Stack) -> list[str]:
    """Engine names of the declared volumes `down --volumes` removes: every service's named volumes, then
    the other declared ones; external volumes never (compose does not own them). The anonymous ones are
    found on the engine (engine/volumes.py)."""
    names = [v for s in stack.services for v in stack.engine_volumes(s)]
    names += [name for key, name in stack.volume_names.items() if key not in stack.external_volumes]
    return list(dict.fromkeys(names))


# -- the engine ----------------------------------------------------------------------------------------


class EngineStuck(Exception):
    """The engine accepts connections and does not answer: compose would wait on it as long as its deadline."""


def _connect(options: Options) -> Engine | None:
    """The engine, or None when none is there (compose then says so in its own words). An engine that is
    there and does not answer ends the command at once: compose against it would only wait too."""
    try:
        return Engine.first_answering(engine_candidates(options.host))
    except EngineUnavailable as exc:
        if exc.timed_out is not None:
            raise EngineStuck(str(exc)) from None
        return None


def _running(stack: Stack, engine: Engine | None) -> set[str] | None:
    """Services with a running container, matched by compose labels (never by container name);
    None when the engine cannot say."""
    if engine is None:
        return None
    try:
        grouped = service_containers(read_project(engine, stack.project), stack.project)
    except ENGINE_ERRORS:
        return None
    return {s for s, cs in grouped.items() if any(c.is_running for c in cs)}


class Compose:
    """Runs compose calls on the stack's files and project (built by ops), streaming their output."""

    def __init__(self, out: Console, target: ComposeTarget, candidates: Callable[[], list[EngineCandidate]]) -> None:
        self.out = out
        self.target = target
        self.candidates = candidates
        self.failure: str | None = None  # the first failure, named as compose named it

    def _show_command(self, command: str) -> None:
        self.out.print(Text(f"$ {command}", style="dim"), soft_wrap=True)

    def _show_line(self, line: str) -> None:
        self.out.print(Text(line), soft_wrap=True)

    def _ended(self, error: str) -> bool:
        if error and self.failure is None:
            self.failure = error
        return not error

    def operation(self, kind: Kind, services: Sequence[str]) -> bool:
        """Start, stop or restart services: the operation the dashboard runs for the same key."""
        op = Operation(kind, tuple(services))
        try:
            result = run_operation(op, self.target, self.candidates, Progress(self._show_command, self._show_line))
        except ComposeInterrupted as exc:
            _say(exc.message)  # Ctrl-C: compose is gone; the command still ends as interrupted (130)
            raise
        return self._ended(result.error)

    def run(self, *args: str, services: Iterable[str] = ()) -> bool:
        """Any other compose command (`down`), built by the same rules."""
        call = self.target.call(*args, services=services)
        self._show_command(shown(call))
        try:
            result = run(call, self._show_line)
        except ComposeInterrupted as exc:
            _say(exc.message)
            raise
        return self._ended(result.error)

    def finish(self) -> int:
        if self.failure:
            _say(self.failure)
            return EXIT_FAILED
        return EXIT_OK


def _compose(stack: Stack, options: Options, compose_cmd: str | None, out: Console,
             engine: Engine | None) -> Compose:
    """detect_compose once per command; ComposeNotFound ends the command (one line, exit 1)."""
    candidates = partial(engine_candidates, options.host)
    connected = engine.info.candidate if engine is not None else None
    target = ComposeTarget.for_engine(stack, detect_compose(compose_cmd), engine_for_compose(connected, candidates),
                                      engine.info.kind if engine is not None else "")
    return Compose(out, target, candidates)


def sample(stack: Stack, options: Options, profile: Profile | None, peaks: PeakStore | None = None) -> LiveModel | None:
    """One complete sample of the stack (ops.sample), on the engine the options name."""
    return ops_sample(stack, profile, partial(engine_candidates, options.host), cast(StatsMode, options.stats), peaks)


def print_status(stack: Stack, options: Options, out: Console, profile: Profile | None) -> None:
    """The laptop script's closing table: every service's state and memory against its budget."""
    out.print()
    model = sample(stack, options, profile)
    if model is None:
        out.print(Text("engine: not reachable, no status to show", style="bold red"), soft_wrap=True)
        return
    out.print(render(model))


# -- the commands ----------------------------------------------------------------------------------------


@_one_line_errors
def cmd_up(stack: Stack, options: Options, targets: list[str], compose_cmd: str | None, out: Console) -> int:
    """`skid up [PROFILE | SERVICE...]`: apply a profile (no target: the active one), or start services."""
    target = up_target(stack, options, targets)
    engine = _connect(options)
    try:
        compose = _compose(stack, options, compose_cmd, out, engine)
        if isinstance(target, Profile):
            # Without an engine skid cannot see what runs: every other service is named and compose decides.
            steps = profile_steps(stack, target, _running(stack, engine))
            said = {kind: ", ".join(services) for kind, services in steps}
            out.print(Text(f"profile {target.name}: " + (f"stopping {said[Kind.STOP]}; " if Kind.STOP in said else "")
                           + (f"starting {said[Kind.START]}" if Kind.START in said else "nothing to start"),
                           style="bold"), soft_wrap=True)
            ok = all(compose.operation(kind, services) for kind, services in steps)  # all() stops at a failure
            if ok:
                remember_profile(stack.project, target.name)
            profile: Profile | None = target
        elif target:
            compose.operation(Kind.START, target)
            profile = _active(stack, options)
        else:
            compose.run("up", "-d")  # no service named: what plain `compose up` starts
            profile = _active(stack, options)
    finally:
        if engine is not None:
            engine.close()
    print_status(stack, options, out, profile)
    return compose.finish()


def _list_volumes(stack: Stack, engine: Engine) -> VolumePlan:
    """What `down --volumes` deletes, from the engine: the declared volumes that exist and every anonymous
    volume of the project's containers (raises one of ENGINE_ERRORS)."""
    return volumes_to_remove(engine, stack.project, set(stack.services), all_volumes(stack))


def _confirm_volumes(stack: Stack, plan: VolumePlan, yes: bool, out: Console, stdin: TextIO | None) -> int | None:
    """List what goes, by name and size, then ask; None when confirmed, else the exit status."""
    doomed = plan.going
    out.print(Text(f"skid down --volumes deletes {len(doomed)} volume{'s' * (len(doomed) != 1)} of "
                   f"{stack.project}, and the data in them:", style="bold yellow"), soft_wrap=True)
    for vol in doomed:
        out.print(f"  {vol.describe()}", markup=False, highlight=False, soft_wrap=True)
    for vol in plan.shared:
        out.print(f"  kept: {vol.describe()}, also mounted by a container that stays", markup=False,
                  highlight=False, soft_wrap=True)
    if yes:
        return None
    if stdin is None or not stdin.isatty():
        _say("not deleting volumes without confirmation: stdin is not a terminal; pass --yes to confirm")
        return EXIT_USAGE
    out.print(f"Type the project name ({stack.project}) to delete them: ", end="", markup=False)
    answer = stdin.readline().strip()
    if answer != stack.project:
        _say(f"not confirmed ('{answer}' is not '{stack.project}'): nothing was stopped or deleted")
        return EXIT_FAILED
    return None


@_one_line_errors
def cmd_down(  # noqa: PLR0917 (the argparse handler passes them in this order)
    stack: Stack, options: Options, volumes: bool, yes: bool, compose_cmd: str | None, out: Console,
    stdin: TextIO | None = None,
) -> int:
    """`skid down [--volumes] [--yes]`: containers and networks go; volumes only when asked and confirmed.

    Compose never gets `-v`: it would also delete anonymous volumes nobody was shown. skid lists every
    volume that goes (named and anonymous, with its size), asks, runs `down`, then removes exactly those.
    """
    stdin = sys.stdin if stdin is None else stdin  # looked up now: tests and wrappers replace sys.stdin
    engine = _connect(options)
    try:
        compose = _compose(stack, options, compose_cmd, out, engine)
        plan = VolumePlan(())
        if volumes:
            if engine is None:
                _say("no container engine answered: cannot list the volumes --volumes would delete; "
                     "nothing was stopped or deleted")
                return EXIT_FAILED
            try:
                plan = _list_volumes(stack, engine)
            except ENGINE_ERRORS as exc:
                _say(f"engine failed while listing volumes: {describe_error(exc)}; nothing was stopped or deleted")
                return EXIT_FAILED
            if plan.going:
                refused = _confirm_volumes(stack, plan, yes, out, stdin)
                if refused is not None:
                    return refused
            else:
                out.print(Text(f"no volume of {stack.project} exists: nothing to delete", style="dim"))
        # Every compose profile, so services behind one (the LLM, dev containers) go too.
        if compose.run("down", services=list(stack.services)) and plan.going and engine is not None:
            _remove_listed(plan, engine, compose, out)
        elif plan.going:
            out.print(Text("volumes kept: compose down failed", style="yellow"))
    finally:
        if engine is not None:
            engine.close()
    print_status(stack, options, out, _active(stack, options))
    return compose.finish()


def _remove_listed(plan: VolumePlan, engine: Engine, compose: Compose, out: Console) -> None:
    """Exactly the listed volumes, by name, now that their containers are gone."""
    try:
        result = remove_volumes(engine, plan.going)
    except ENGINE_ERRORS as exc:  # remove_volumes catches per volume; this is the connection itself
        compose.failure = compose.failure or f"engine failed while removing volumes: {describe_error(exc)}"
        return
    for vol in result.removed:
        out.print(f"removed volume {vol.describe()}", markup=False, highlight=False, soft_wrap=True)
    for vol in result.gone:
        out.print(f"volume {vol.name} was already gone", markup=False, highlight=False, soft_wrap=True)
    for vol, why in result.kept:
        out.print(f"kept volume {vol.describe()}: {why}", markup=False, highlight=False, soft_wrap=True)
    if result.kept and compose.failure is None:
        compose.failure = f"{len(result.kept)} volume{'s' * (len(result.kept) != 1)} kept: {result.summary()}"


@_one_line_errors
def cmd_services(  # noqa: PLR0917 (the argparse handler passes them in this order)
    stack: Stack, options: Options, kind: Kind, services: list[str], compose_cmd: str | None, out: Console
) -> int:
    """`skid stop SERVICE...`, `skid restart SERVICE...`: the dashboard's operation of the same name."""
    if not services:
        raise BadInput(f"{kind} needs at least one service (expected one of: " + ", ".join(stack.services) + ")")
    names = check_services(stack, services)
    engine = _connect(options)
    try:
        compose = _compose(stack, options, compose_cmd, out, engine)
    finally:
        if engine is not None:
            engine.close()
    compose.operation(kind, names)
    print_status(stack, options, out, _active(stack, options))
    return compose.finish()


def cmd_restart(stack: Stack, options: Options, services: list[str], compose_cmd: str | None, out: Console) -> int:
    """`skid restart SERVICE...`"""
    return cmd_services(stack, options, Kind.RESTART, services, compose_cmd, out)


@_one_line_errors
def cmd_toggle(stack: Stack, options: Options, service: str, compose_cmd: str | None, out: Console) -> int:
    """`skid toggle SERVICE`: stop it when it runs, else start it."""
    [name] = check_services(stack, [service])
    try:
        engine = Engine.first_answering(engine_candidates(options.host))
    except EngineUnavailable as exc:
        _say(str(exc))  # whether it runs is the engine's answer: without one, no guess
        return EXIT_FAILED
    try:
        compose = _compose(stack, options, compose_cmd, out, engine)
        running = _running(stack, engine)
    finally:
        engine.close()
    if running is None:
        _say(f"the engine at {engine.info.candidate.describe()} failed while listing containers")
        return EXIT_FAILED
    if name in running:
        compose.operation(Kind.STOP, [name])
    else:
        compose.operation(Kind.START, [name])
    print_status(stack, options, out, _active(stack, options))
    return compose.finish()


def checked_fit(stack: Stack, options: Options, profile: Profile | None, name: str, out: Console) -> StartCheck | None:
    """Whether the service's maximum fits in the engine's free memory now, said on `out` (`skid llm on`, a
    service `skid shell` starts first); None when no engine gave the numbers."""
    model = sample(stack, options, profile)
    free = model.engine_free() if model is not None else None
    if model is None or free is None:
        return None
    check = start_check(stack, name, free=free, used=model.used_by_service(), active=model.profile,
                        idle=model.idle_services())
    for line in fit_report(check):
        out.print(line, soft_wrap=True)
    return check


def fit_report(check: StartCheck) -> list[Text]:
    """What `skid llm on` says about memory: what it needs, what is free, and what to stop when short."""
    need, free = format_bytes(check.need), format_bytes(check.free)
    if check.fits:
        return [Text(f"{check.service} needs up to {need}; the engine has {free} free: it fits", style="dim")]
    lines = [Text(f"{check.service} needs up to {need} but the engine has {free} free "
                  f"({format_bytes(check.shortfall)} short)", style="bold red")]
    if check.suggestions:
        names = ", ".join(f"{s} ({format_bytes(m)})" for s, m in check.suggestions)
        enough = "" if check.freed >= check.shortfall else ", not enough on its own"
        lines.append(Text(f"  stopping {names} would free {format_bytes(check.freed)}{enough}", style="yellow"))
    else:
        lines.append(Text("  nothing running could be stopped to make room", style="yellow"))
    return lines


@_one_line_errors
def cmd_llm(  # noqa: PLR0917 (the argparse handler passes them in this order)
    stack: Stack, options: Options, state: str, compose_cmd: str | None, force: bool, out: Console
) -> int:
    """`skid llm on|off [--force]`: the on-demand LLM service, started only when its maximum fits."""
    if state not in ("on", "off"):
        raise BadInput(f"llm takes 'on' or 'off', not '{state}'")
    profile = _active(stack, options)
    name = llm_service(stack, profile)
    engine = _connect(options)
    try:
        compose = _compose(stack, options, compose_cmd, out, engine)
        runs = name in (_running(stack, engine) or ())
    finally:
        if engine is not None:
            engine.close()
    if state == "off":
        compose.operation(Kind.STOP, [name])
    elif runs:
        out.print(Text(f"{name} already runs", style="dim"))
        compose.operation(Kind.START, [name])
    else:
        check = checked_fit(stack, options, profile, name, out)
        if check is None:
            _say(f"no container engine answered: cannot check whether {name} fits, nor start it")
            return EXIT_FAILED
        if not check.fits and not force:
            _say(f"{name} does not fit: it needs {format_bytes(check.need)}, {format_bytes(check.free)} is free "
                 f"(stop what is named above, or pass --force to start it anyway)")
            return EXIT_FAILED
        if not check.fits:
            out.print(Text(f"starting {name} anyway (--force)", style="yellow"))
        compose.operation(Kind.START, [name])
    print_status(stack, options, out, profile)
    return compose.finish()


# -- the profile table -------------------------------------------------------------------------------------


def profile_plans(stack: Stack, options: Options) -> tuple[list[ProfilePlan], LiveModel | None, Expected]:
    """Every profile planned against what runs now (nothing, without an engine), each service counted at its
    week's p95 from the history where that is known, else at its recorded peak, where either is above its
    standard allocation."""
    store = PeakStore.default()
    model = sample(stack, options, _active(stack, options), peaks=store)
    history = HistoryStore.default()
    history.open()
    expected = expected_use(usual_use(stack, history), recorded_peaks(stack, store))
    info = model.engine.info if model is not None else None
    total = info.mem_total or None if info is not None else None  # an engine that reports 0: unknown
    plans = plan_profiles(stack, running=model.running_services() if model is not None else (),
                          used=model.used_by_service() if model is not None else {}, engine_total=total,
                          peaks=expected.values)
    return plans, model, expected


def profiles_report(stack: Stack, plans: Sequence[ProfilePlan], model: LiveModel | None,
                    active: Profile | None, expected: Expected | None = None) -> dict[str, Any]:
    """`skid profiles --json`."""
    info = model.engine.info if model is not None else None
    return {
        "project": stack.project,
        "active_profile": active.name if active else None,
        "engine": {
            "state": "connected" if info else "not reachable",
            "endpoint": info.candidate.url if info else None,
            "mem_total_bytes": info.mem_total if info else None,
            "free_bytes": plans[0].engine_free if plans else None,
        },
        "running": sorted(model.running_services()) if model is not None else [],
        "profiles": {
            p.profile.name: {
                "description": p.profile.description,
                "services": list(p.profile.services),
                "start": list(p.start),
                "stop": list(p.stop),
                "keep": list(p.keep),
                "expected_bytes": p.expected_total,
                "maximum_bytes": p.maximum_total,
                "host_budget_bytes": p.host_budget,
                "engine_free_bytes": p.engine_free,
                "capacity_bytes": p.capacity,
                "verdict": p.verdict,
                "peaks_used": list(p.peaks_used),
                "measured_as": {s: (expected.basis.get(s) if expected else PEAK_BASIS) for s in p.peaks_used},
                "active": active is not None and p.profile.name == active.name,
            }
            for p in plans
        },
    }


def peak_note(plan: ProfilePlan, basis: Mapping[str, str] | None = None) -> str:
    """Which services count at a measurement (the week's p95, else the recorded peak) rather than their
    standard allocation, and at which."""
    if not plan.peaks_used:
        return ""
    return basis_note(plan.peaks_used, basis or {})


def profiles_table(stack: Stack, plans: Sequence[ProfilePlan], model: LiveModel | None,
                   active: Profile | None, expected: Expected | None = None) -> list[Text | Table]:
    """The picker's table: what each profile would start and stop, its totals and whether it fits."""
    info = model.engine.info if model is not None else None
    head = Text()
    head.append(f"{stack.project}", style="bold")
    if info is None:
        head.append("   engine: not reachable (planned against the budgets alone; nothing counted as running)",
                    style="yellow")
    else:
        free = plans[0].engine_free if plans else None
        head.append(f"   engine: {info.kind} at {info.candidate.url}, {format_bytes(info.mem_total)}"
                    + (f", {format_bytes(free)} free" if free is not None else ""))
    table = Table(box=None, pad_edge=False, header_style="bold")
    # Numbers first: they never wrap; the service lists after them may, on a narrow terminal.
    for col, justify in (("", "left"), ("profile", "left"), ("verdict", "left"), ("expected", "right"),
                         ("maximum", "right"), ("budget", "right"), ("capacity", "right"), ("starts", "left"),
                         ("stops", "left"), ("note", "left")):
        table.add_column(col, justify=justify, no_wrap=col not in ("starts", "stops", "note"))  # type: ignore[arg-type]
    for p in plans:
        is_active = active is not None and p.profile.name == active.name
        table.add_row(
            "▸" if is_active else "",
            Text(p.profile.name, style="bold" if is_active else ""),
            Text(p.verdict, style=VERDICT_STYLE[p.verdict]),
            format_bytes(p.expected_total),
            format_bytes(p.maximum_total),
            format_bytes(p.host_budget),
            format_bytes(p.capacity),
            Text(", ".join(p.start) or "-", style="green" if p.start else "dim"),
            Text(", ".join(p.stop) or "-", style="red" if p.stop else "dim"),
            Text(peak_note(p, expected.basis if expected else None), style="dim"),
        )
    foot = Text("expected: the standard allocation, or where higher the week's p95 from the history (else the "
                "recorded peak); capacity: the host budget, or the engine's memory when smaller", style="dim")
    return [head, table, foot]


@_one_line_errors
def cmd_profiles(stack: Stack, options: Options, out: Console, as_json: bool) -> int:
    """`skid profiles [--json]`: planning needs no engine; without one nothing counts as running."""
    active = _active(stack, options)
    plans, model, expected = profile_plans(stack, options)
    if as_json:
        # Straight to the file: Rich would wrap or highlight what scripts parse.
        out.file.write(json.dumps(profiles_report(stack, plans, model, active, expected), indent=2) + "\n")
        out.file.flush()
        return EXIT_OK
    for part in profiles_table(stack, plans, model, active, expected):
        out.print(part, soft_wrap=isinstance(part, Text))
    return EXIT_OK

