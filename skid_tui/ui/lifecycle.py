"""The dashboard's lifecycle side: toggles, profile switches, the LLM on demand, idle stops, removing data.

One `Lifecycle` object, owned by the app, holds the OperationQueue (skid_tui/ops/queue.py) and the compose
tool, and turns keys into operations. Every change goes through the user's compose tool, one operation at
a time, built and run by ops exactly as the command line does; its exact command and output appear in the
activity log. A toggle pressed while an operation on the same service is queued or running waits its turn
and acts on the state that operation leaves (space twice: start, then stop).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from rich.text import Text

from skid_tui.engine.client import ENGINE_ERRORS, Engine, describe_error
from skid_tui.engine.compose_tool import STOP_GRACE, ComposeNotFound, ComposeTool, detect_compose, how_it_ended
from skid_tui.engine.volumes import VolumePlan, volumes_to_remove
from skid_tui.model.active import remember_profile
from skid_tui.model.planning import ProfilePlan, StartCheck, start_check
from skid_tui.ops.compose import ComposeTarget, engine_for_compose
from skid_tui.ops.lifecycle import expected_use, llm_service, plan_profiles, profile_steps, recorded_peaks
from skid_tui.ops.operations import VERB, Kind, Operation, OperationResult, Progress, run_operation
from skid_tui.ops.queue import OperationQueue
from skid_tui.present import seconds_text
from skid_tui.safe_text import visible
from skid_tui.stack import format_bytes
from skid_tui.ui.screens.confirm import ConfirmScreen, TypeToConfirmScreen
from skid_tui.ui.screens.llm import StartCheckScreen
from skid_tui.ui.screens.profiles import ProfilePickerScreen

if TYPE_CHECKING:
    from skid_tui.ui.app import SkidApp


class Lifecycle:
    """The queue of compose operations and the keys that feed it; the app owns one and delegates to it."""

    def __init__(self, app: SkidApp, compose_cmd: str | None) -> None:
        self.app = app
        self.compose_cmd = compose_cmd
        self.compose_tool: ComposeTool | None = None
        self.compose_error = ""
        self.tool_ready = asyncio.Event()
        self.queue = OperationQueue(self._run, self)
        self.quitting = False
        self.exit_lines: list[str] = []  # for the terminal after the app: what quitting had to stop
        self.last_start_check: StartCheck | None = None
        self._last_plans: dict[str, ProfilePlan] = {}

    def start(self) -> None:
        """On mount: find the compose tool (a thread) and start the queue's runner."""
        self.app.run_worker(self._detect, thread=True, group="compose-detect", name="detect-compose",
                            exit_on_error=False)
        self.app.run_worker(self.queue.run(self.tool_ready), group="compose", name="compose-runner",
                            exclusive=True, exit_on_error=False)

    def _on_loop(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run fn on the app's event loop, as a message to the app: in order with the other calls from here,
        with the app's context (a screen can be pushed), safe from any thread. Nothing once the app is gone."""
        self.app.call_later(fn, *args)

    # -- compose tool and runner ------------------------------------------------------------------------

    def _detect(self) -> None:
        try:
            tool, error = detect_compose(self.compose_cmd), ""
        except ComposeNotFound as exc:
            tool, error = None, str(exc)
        self._on_loop(self._tool_found, tool, error)

    def _tool_found(self, tool: ComposeTool | None, error: str) -> None:
        self.compose_tool = tool
        self.compose_error = error
        if tool is None:
            self.app.say(f"✗ {error}")
        self.tool_ready.set()
        self.app.refresh_header()

    def _run(self, op: Operation, progress: Progress) -> OperationResult:
        """An operation, on the queue's worker thread: built and run by ops, as the command line runs it."""
        tool = self.compose_tool
        if tool is None:
            return OperationResult(op, None, 0.0, error=self.compose_error or "no compose tool")
        info = self.app.model.engine.info
        engine = engine_for_compose(info.candidate if info is not None else None, self.app.candidates)
        target = ComposeTarget.for_engine(self.app.stack, tool, engine, info.kind if info is not None else "")
        result = run_operation(op, target, self.app.candidates, progress)
        if result.stopped and self.quitting and result.compose is not None:
            # Said again on the terminal once the screen is gone.
            self.exit_lines.append(f"quit while {result.compose.call.short()} ran: "
                                   f"{how_it_ended(result.compose.killed)}")
        return result

    # -- what the queue tells (QueueListener), on the event loop, in order ----------------------------------

    def queued(self, op: Operation) -> None:
        self.app.show_activity()
        self.app.say(f"queued: {op.describe()}")
        self.app.refresh_panels(list(op.services))

    def started(self, op: Operation, command: str) -> None:
        self.app.say(f"$ {command}")
        self.app.refresh_panels(list(op.services))

    def output(self, op: Operation, lines: list[str]) -> None:
        self.app.activity_output(lines)

    def finished(self, result: OperationResult) -> None:
        op = result.op
        if result.ok:
            done = f"✓ {op.describe()}: done in {seconds_text(result.seconds)}"
            if op.frees:
                done += f", released {format_bytes(op.frees)}"
            if result.note:
                done += f"; {result.note}"
            self.app.say(done)
        elif result.stopped:
            tail = f"; {result.note}" if result.note else ""
            self.app.say(f"✗ {op.describe()}: {result.error}{tail}")
            self.app.notify(result.error, title="compose stopped", severity="warning", timeout=12)
        else:
            self.app.say(f"✗ {op.describe()}: {result.error}")
            self.app.notify(f"{op.describe()} failed: {result.error}", title="compose failed", severity="error",
                            timeout=12)
        if not result.ok:
            for service in op.services:
                self.app.shells.cancel(service)  # a shell waiting for it to start gives up
        self.app.refresh_panels(list(op.services))

    # -- asking ---------------------------------------------------------------------------------------------

    def running_or_projected(self, service: str) -> bool:
        return self.queue.projected(service, service in self.app.model.running_services())

    def enqueue(self, kind: Kind, services: tuple[str, ...], reason: str = "", **extra: Any) -> Operation | None:
        services = tuple(s for s in services if s in self.app.stack.services)
        return self.queue.enqueue(kind, services, reason, **extra)

    def cancel(self) -> bool:
        """`c` with no build or test run in view: stop the compose command running now. Queued ones still run."""
        op = self.queue.cancel_running()
        if op is None:
            return False
        self.app.say(f"{op.describe()}: cancelling compose")
        return True

    async def end_for_quit(self) -> None:
        """Quitting: the compose command running now is stopped and waited for, never left running unseen."""
        self.quitting = True
        op = self.queue.running
        if op is None:
            return
        self.app.notify(f"quitting: stopping {op.describe()}…", timeout=STOP_GRACE + 2)
        await self.queue.stop(STOP_GRACE + 2)

    # -- the keys -------------------------------------------------------------------------------------

    def toggle(self, service: str) -> None:
        self.queue.toggle(service, service in self.app.model.running_services())

    def service_op(self, kind: Kind, service: str) -> None:
        """`r` restart, `K` kill (after a confirmation), `P` pause or unpause, `R` recreate: on a service that
        has a container up (running or paused); each one compose call through the queue, like a toggle."""
        states = {c.state for c in self.app.containers.get(service, ())}
        if not states & {"running", "paused", "restarting"} and not self.queue.busy(service):
            self.app.notify(f"{service} is not running: nothing to {VERB[kind]} (space starts it)",
                            severity="warning", timeout=6)
            return
        if kind == Kind.PAUSE and "paused" in states:
            kind = Kind.UNPAUSE
        if kind != Kind.KILL:
            self.enqueue(kind, (service,), reason="asked for")
            return
        body = Text()
        body.append("SIGKILL to every process of ")
        body.append(service, style="bold")
        body.append(": no grace period, what it had not written is lost.\n")
        body.append("Its container and volumes are kept; space starts it again.", style="dim")

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.enqueue(Kind.KILL, (service,), reason="asked for")

        self.app.push_screen(ConfirmScreen(f"Kill {service}?", body, yes="Kill"), confirmed)

    def pick_profile(self) -> None:
        app = self.app
        info = app.model.engine.info
        running = {s for s in app.stack.services if self.running_or_projected(s)}
        expected = expected_use(app.usual, recorded_peaks(app.stack, app.model.peaks))
        plans = plan_profiles(app.stack, running=running, used=app.model.used_by_service(),
                              engine_total=info.mem_total if info else None, peaks=expected.values)
        self._last_plans = {p.profile.name: p for p in plans}
        app.push_screen(ProfilePickerScreen(plans, app.profile.name if app.profile else None, expected.basis),
                        self._picked)

    def _picked(self, name: str | None) -> None:
        if name is None:
            return
        plan = self._last_plans[name]
        body = Text()
        body.append(f"Switch to {name}", style="bold")
        body.append(f" ({plan.verdict}: expected {format_bytes(plan.expected_total)}, at most "
                    f"{format_bytes(plan.maximum_total)}, room {format_bytes(plan.capacity)})\n\n")
        body.append("starts: ", style="bold green")
        body.append(", ".join(plan.start) or "nothing")
        body.append("\nstops:  ", style="bold red")
        body.append(", ".join(plan.stop) or "nothing")
        body.append("\n\nVolumes and their data are kept.", style="dim")

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.apply_profile(name)

        self.app.push_screen(ConfirmScreen(f"Apply profile {name}?", body), confirmed)

    def apply_profile(self, name: str) -> None:
        app = self.app
        profile = app.stack.profiles[name]
        app.set_profile(profile)
        remember_profile(app.stack.project, name)
        running = {s for s in app.stack.services if self.running_or_projected(s)}
        steps = profile_steps(app.stack, profile, running)
        said = {kind: ", ".join(services) for kind, services in steps}
        app.say(f"profile {name}: starts {said.get(Kind.START) or 'nothing'}, "
                f"stops {said.get(Kind.STOP) or 'nothing'}")
        for kind, services in steps:
            self.enqueue(kind, services, reason=f"profile {name}")
        app.refresh_panels(app.service_order)

    def llm(self) -> None:
        app = self.app
        service = llm_service(app.stack, app.profile)
        if service is None:
            app.notify("no on-demand service in this stack (profiles name them under on_demand)",
                       severity="warning")
            return
        if self.running_or_projected(service):
            self.enqueue(Kind.STOP, (service,), reason="L")
            return
        self.start_checked(service, "on demand")

    def start_checked(self, service: str, reason: str) -> bool:
        """Start a service once its maximum fits (the LLM's `L`, a shell's dev container); when it does not,
        the user chooses what to stop or to start it anyway. False: no engine to check against."""
        app = self.app
        free = app.model.engine_free()
        if free is None:
            app.notify(f"cannot check memory for {service}: no engine", severity="error")
            return False
        check = start_check(app.stack, service, free=free, used=app.model.used_by_service(),
                            active=app.profile, idle=app.model.idle_services())
        self.last_start_check = check
        if check.fits:
            app.say(f"{service} may use up to {format_bytes(check.need)}; "
                    f"{format_bytes(check.free)} free: starting it")
            self.enqueue(Kind.START, (service,), reason=reason)
            return True

        def chosen(choice: str | None) -> None:
            if choice == "stop-and-start":
                self.enqueue(Kind.STOP, tuple(s for s, _ in check.suggestions), reason=f"room for {service}")
                self.enqueue(Kind.START, (service,), reason=reason)
            elif choice == "start":
                self.enqueue(Kind.START, (service,), reason=f"{reason}, short of memory")
            else:
                self.start_cancelled(service)

        app.push_screen(StartCheckScreen(check), chosen)
        return True

    def start_cancelled(self, service: str) -> None:
        """The user chose not to start it (the shell waiting for it gives up)."""
        self.app.shells.cancel(service)

    # -- removing data ----------------------------------------------------------------------------------

    def removable_volumes(self, services: tuple[str, ...]) -> list[str]:
        """Named volumes these services own alone: a volume another service mounts is never removed."""
        stack = self.app.stack
        others = {v for s in stack.services if s not in services for v in stack.engine_volumes(s)}
        return [v for s in services for v in stack.engine_volumes(s) if v not in others]

    def remove_data(self, service: str) -> None:
        """`X`: ask the engine what would go first (a thread); the dialog lists exactly that."""
        self.app.say(f"remove data of {service}: listing its volumes…")
        self.app.run_worker(partial(self._list_volumes, service), thread=True, group="volumes",
                            name="list-volumes", exit_on_error=False)

    def _list_volumes(self, service: str) -> None:
        app = self.app
        try:
            engine = Engine.first_answering(app.candidates())
        except ENGINE_ERRORS as exc:
            self._on_loop(self._volumes_listed, service, None, f"no engine: {describe_error(exc)}")
            return
        try:
            plan = volumes_to_remove(engine, app.stack.project, {service}, self.removable_volumes((service,)))
        except ENGINE_ERRORS as exc:
            self._on_loop(self._volumes_listed, service, None, f"the engine failed: {describe_error(exc)}")
        else:
            self._on_loop(self._volumes_listed, service, plan, "")
        finally:
            engine.close()

    def _volumes_listed(self, service: str, plan: VolumePlan | None, error: str) -> None:
        app = self.app
        if plan is None:
            app.say(f"✗ remove data of {service}: cannot list its volumes ({error}); nothing deleted")
            app.notify(f"cannot list the volumes of {service}: {error}", title="nothing deleted",
                       severity="error", timeout=10)
            return
        body = Text()
        body.append("This removes ")
        body.append(service, style="bold")
        if plan.going:
            body.append("'s container and deletes these volumes, and the data in them, for good:\n")
            for vol in plan.going:
                body.append(f"  • {vol.describe()}\n", style="bold red")
        else:
            body.append("'s container. It has no volume of its own: no volume is deleted.\n")
        shared = [v.name for v in plan.shared]
        shared += [v for v in app.stack.engine_volumes(service)
                   if v not in self.removable_volumes((service,)) and v not in shared]
        if shared:
            body.append(f"Kept, other services use them: {', '.join(map(visible, shared))}\n", style="dim")

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.enqueue(Kind.REMOVE_DATA, (service,), reason="asked for", volumes=plan.going)
            else:
                app.say(f"remove data of {service}: cancelled, nothing deleted")

        app.push_screen(TypeToConfirmScreen(f"Remove the data of {service}?", body, service), confirmed)

    # -- idle stop ------------------------------------------------------------------------------------

    def stop_idle_services(self) -> None:
        """On-demand services idle for their whole timeout are stopped, and the user is told."""
        app = self.app
        for service, idle_for, mem in app.model.idle_expired(app.monotonic()):
            if self.queue.busy(service) or not self.running_or_projected(service):
                continue
            op = self.enqueue(Kind.STOP, (service,), reason=f"idle for {seconds_text(idle_for)}", frees=mem)
            if op is None:
                continue
            app.notify(f"{service} was idle for {seconds_text(idle_for)} (CPU under 2%): stopping it frees "
                       f"{format_bytes(mem)}", title="Idle stop", timeout=10)
