"""The dashboard's lifecycle side: toggles, profile switches, the LLM on demand, idle stops, removing data.

Every change goes through the user's compose tool, one operation at a time, its exact command and output
in the activity log. A toggle pressed while an operation on the same service is queued or running waits
its turn and acts on the state that operation leaves (space twice: start, then stop).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.css.query import NoMatches
from textual.message import Message

from skid_tui.engine.client import ENGINE_ERRORS, Engine, describe_error
from skid_tui.engine.compose_tool import (
    STOP_GRACE,
    ComposeCall,
    ComposeNotFound,
    ComposeStopped,
    ComposeTool,
    detect_compose,
    how_it_ended,
    last_error,
    run_compose_async,
)
from skid_tui.engine.discovery import EngineCandidate
from skid_tui.engine.volumes import Volume, VolumePlan, remove_volumes, volumes_to_remove
from skid_tui.model.active import remember_profile
from skid_tui.model.planning import plan_profile, start_check
from skid_tui.safe_text import visible
from skid_tui.stack import format_bytes
from skid_tui.ui.messages import ComposeToolFound, OperationFinished, OperationOutput, OperationStarted
from skid_tui.ui.operations import Kind, Operation, compose_args
from skid_tui.ui.screens.confirm import ConfirmScreen, TypeToConfirmScreen
from skid_tui.ui.screens.llm import StartCheckScreen
from skid_tui.ui.screens.profiles import ProfilePickerScreen
from skid_tui.ui.widgets.activity_log import ActivityLog

if TYPE_CHECKING:
    from skid_tui.ui.app import SkidApp

OUTPUT_FLUSH = 0.1  # seconds: compose output reaches the log in batches, not a message per line
STOPPED_STATUS = -15  # an operation's status when skid stopped its compose command (deadline or `c`)


class VolumesListed(Message):
    """The engine said which volumes removing a service's data would delete (or failed: `error`)."""

    def __init__(self, service: str, plan: VolumePlan | None, error: str = "") -> None:
        super().__init__()
        self.service = service
        self.plan = plan
        self.error = error


def duration(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 60}m {s % 60}s" if s >= 60 else f"{seconds:.1f} s"


class LifecycleMixin:
    """Mixed into SkidApp (handlers use `on_<message>` names so Textual finds them through the MRO)."""

    compose_cmd: str | None
    candidates: Callable[[], list[EngineCandidate]]
    monotonic: Callable[[], float]

    def _init_lifecycle(self: SkidApp) -> None:
        self.compose_tool: ComposeTool | None = None
        self.compose_error = ""
        self._tool_ready = asyncio.Event()
        self._ops: asyncio.Queue[Operation] = asyncio.Queue()
        self.pending: dict[str, str] = {}  # service -> "queued start", "starting", "stopping"...
        self._queued: dict[str, int] = {}  # service -> operations not finished
        self._projected: dict[str, bool] = {}  # service -> running once the queued operations are done
        self._releasing: dict[int, int] = {}  # idle-stop operation id -> memory it frees
        self.operations_done: list[tuple[Operation, str, int, float]] = []  # (op, kind, status, seconds)
        self._doomed: dict[int, tuple[Volume, ...]] = {}  # remove-data operation id -> the volumes it listed
        self.running_op: Operation | None = None  # the operation whose compose command runs now
        self._op_cancel = asyncio.Event()  # set by `c`: that command is stopped (SIGTERM, then SIGKILL)
        self.quitting = False
        self.exit_lines: list[str] = []  # for the terminal after the app: what quitting had to stop

    # -- compose tool and runner ----------------------------------------------------------------------

    @work(thread=True, group="compose-detect", name="detect-compose", exit_on_error=False)
    def detect_compose_tool(self: SkidApp) -> None:
        try:
            tool = detect_compose(self.compose_cmd)
        except ComposeNotFound as exc:
            self.post_message(ComposeToolFound(None, str(exc)))
        else:
            self.post_message(ComposeToolFound(tool))

    def on_compose_tool_found(self: SkidApp, message: ComposeToolFound) -> None:
        self.compose_tool = message.tool
        self.compose_error = message.error
        if message.tool is None:
            self.say(f"✗ {message.error}")
        self._tool_ready.set()
        self.refresh_header()

    @work(group="compose", name="compose-runner", exclusive=True, exit_on_error=False)
    async def run_operations(self: SkidApp) -> None:
        """Forever: take the next operation, run its compose command, report. Never on a thread: an
        asyncio subprocess does not block the event loop."""
        while True:
            op = await self._ops.get()
            await self._tool_ready.wait()
            await self._run(op)

    async def _run(self: SkidApp, op: Operation) -> None:
        kind: Kind = op.kind
        tool = self.compose_tool
        if tool is None:
            self.post_message(OperationFinished(op, kind, 127, 0.0, error=self.compose_error or "no compose tool"))
            return
        profiles = sorted({p for s in op.services for p in self.stack.services[s].compose_profiles})
        env = {}
        info = self.model.engine.info
        if info is not None and info.candidate.url and tool.is_docker_compose:
            env["DOCKER_HOST"] = info.candidate.url  # compose acts on the engine skid shows
        call = ComposeCall(tool, tuple(str(f) for f in self.stack.compose_files), self.stack.project,
                           compose_args(kind, op.services), tuple(profiles), env)
        self.post_message(OperationStarted(op, kind, call.display()))
        started = time.monotonic()
        lines: list[str] = []
        batch: list[str] = []
        last_flush = started

        def on_line(line: str) -> None:
            nonlocal last_flush
            lines.append(line)
            batch.append(line)
            if time.monotonic() - last_flush >= OUTPUT_FLUSH:
                self.post_message(OperationOutput(op, batch.copy()))
                batch.clear()
                last_flush = time.monotonic()

        self.running_op = op
        self._op_cancel = asyncio.Event()
        stopped = ""
        try:
            # Bounded by the command's deadline (SKID_COMPOSE_TIMEOUT); `c` sets _op_cancel.
            status = await run_compose_async(call, on_line, cancel=self._op_cancel)
        except ComposeStopped as exc:
            status, stopped = STOPPED_STATUS, str(exc)
            if self.quitting:  # said again on the terminal once the screen is gone
                self.exit_lines.append(f"quit while {exc.call.short()} ran: {how_it_ended(exc.killed)}")
        finally:
            self.running_op = None
        if batch:
            self.post_message(OperationOutput(op, batch.copy()))
        note = ""
        if kind == "remove-data":
            # Removed only once their container is gone; a failed or stopped rm keeps every one of them.
            note = await asyncio.to_thread(self._remove_volumes, op) if status == 0 else "volumes kept"
            self._doomed.pop(op.id, None)
        error = stopped or (last_error(lines) if status else "")
        self.post_message(OperationFinished(op, kind, status, time.monotonic() - started, error=error, note=note,
                                            stopped=bool(stopped)))

    async def end_operation_for_quit(self: SkidApp) -> None:
        """Quitting: the compose command running now is stopped and waited for, never left running unseen."""
        self.quitting = True
        op = self.running_op
        if op is None:
            return
        self._op_cancel.set()
        self.notify(f"quitting: stopping {op.describe()}…", timeout=STOP_GRACE + 2)
        deadline = time.monotonic() + STOP_GRACE + 2
        while self.running_op is not None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    def cancel_operation(self: SkidApp) -> bool:
        """`c` with no build or test run in view: stop the compose command running now. Queued ones still run."""
        op = self.running_op
        if op is None or self._op_cancel.is_set():
            return False
        self._op_cancel.set()
        self.say(f"{op.describe()}: cancelling compose")
        return True

    def _remove_volumes(self: SkidApp, op: Operation) -> str:
        """After `compose rm` (never `-v`): exactly the volumes the dialog listed, by name (thread)."""
        listed = self._doomed.pop(op.id, ())
        if not listed:
            return "no volume to remove"
        try:
            engine = Engine.first_answering(self.candidates())
        except ENGINE_ERRORS as exc:
            return f"volumes kept: no engine ({describe_error(exc)})"
        try:
            return remove_volumes(engine, listed).summary()
        except ENGINE_ERRORS as exc:
            return f"volumes kept: the engine failed ({describe_error(exc)})"
        finally:
            engine.close()

    def removable_volumes(self: SkidApp, services: tuple[str, ...]) -> list[str]:
        """Named volumes these services own alone: a volume another service mounts is never removed."""
        others = {v for s in self.stack.services if s not in services for v in self.stack.engine_volumes(s)}
        return [v for s in services for v in self.stack.engine_volumes(s) if v not in others]

    @work(thread=True, group="volumes", name="list-volumes", exit_on_error=False)
    def list_volumes(self: SkidApp, service: str) -> None:
        """Which volumes `X` would delete, with their sizes, as the engine has them (thread)."""
        try:
            engine = Engine.first_answering(self.candidates())
        except ENGINE_ERRORS as exc:
            self.post_message(VolumesListed(service, None, f"no engine: {describe_error(exc)}"))
            return
        try:
            plan = volumes_to_remove(engine, self.stack.project, {service}, self.removable_volumes((service,)))
        except ENGINE_ERRORS as exc:
            self.post_message(VolumesListed(service, None, f"the engine failed: {describe_error(exc)}"))
        else:
            self.post_message(VolumesListed(service, plan))
        finally:
            engine.close()

    # -- queueing -------------------------------------------------------------------------------------

    def running_or_projected(self: SkidApp, service: str) -> bool:
        if service in self._projected:
            return self._projected[service]
        return service in self.model.running_services()

    def enqueue(self: SkidApp, kind: Kind, services: tuple[str, ...], reason: str = "") -> Operation | None:
        services = tuple(s for s in services if s in self.stack.services)
        if not services:
            return None
        op = Operation(kind, services, reason)
        for s in services:
            self._queued[s] = self._queued.get(s, 0) + 1
            self._projected[s] = kind == "start"
            self.pending[s] = {"start": "start queued", "stop": "stop queued",
                               "remove-data": "data removal queued"}.get(kind, "queued")
        self._ops.put_nowait(op)
        self.show_activity()
        self.say(f"queued: {op.describe()}")
        self.refresh_panels(list(services))
        return op

    def say(self: SkidApp, text: str) -> None:
        """A line in the activity log; nothing when the app is closing and the log is gone."""
        with contextlib.suppress(NoMatches):
            self.activity.say(text)

    def on_operation_started(self: SkidApp, message: OperationStarted) -> None:
        verb = {"start": "starting", "stop": "stopping", "remove-data": "removing data"}[message.kind]
        for s in message.op.services:
            self.pending[s] = verb
        self.say(f"$ {message.command}")
        self.refresh_panels(list(message.op.services))

    def on_operation_output(self: SkidApp, message: OperationOutput) -> None:
        with contextlib.suppress(NoMatches):  # closing
            self.activity.output(message.lines)

    def on_operation_finished(self: SkidApp, message: OperationFinished) -> None:
        op = message.op
        self.operations_done.append((op, message.kind, message.returncode, message.seconds))
        for s in op.services:
            left = self._queued.get(s, 1) - 1
            if left <= 0:
                self._queued.pop(s, None)
                self.pending.pop(s, None)
                self._projected.pop(s, None)  # nothing queued: the engine's state is the truth again
            else:
                self._queued[s] = left
        if message.returncode == 0:
            done = f"✓ {op.describe()}: done in {duration(message.seconds)}"
            released = self._releasing.pop(op.id, None)
            if released:
                done += f", released {format_bytes(released)}"
            if message.note:
                done += f"; {message.note}"
            self.say(done)
        elif message.stopped:
            for s in op.services:
                self._projected.pop(s, None)
            tail = f"; {message.note}" if message.note else ""
            self.say(f"✗ {op.describe()}: {message.error}{tail}")
            self.notify(message.error, title="compose stopped", severity="warning", timeout=12)
        else:
            for s in op.services:
                self._projected.pop(s, None)
            self.say(f"✗ {op.describe()}: compose exited {message.returncode}: {message.error}")
            self.notify(f"{op.describe()} failed: {message.error or f'exit {message.returncode}'}",
                        title="compose failed", severity="error", timeout=12)
        self.refresh_panels(list(op.services))

    # -- the keys -------------------------------------------------------------------------------------

    def selected_service(self: SkidApp) -> str | None:
        from skid_tui.ui.widgets.service_panel import ServicePanel

        focused = self.focused
        return focused.service if isinstance(focused, ServicePanel) else None

    def action_toggle(self: SkidApp) -> None:
        service = self.selected_service()
        if service is None:
            return
        kind: Kind = "stop" if self.running_or_projected(service) else "start"
        self.enqueue(kind, (service,), reason="toggled")

    def action_profiles(self: SkidApp) -> None:
        peaks = {}
        if self.model.peaks is not None:
            for s in self.stack.services:
                peak = self.model.peaks.recorded(self.stack.project, s)
                if peak is not None:
                    peaks[s] = peak
        engine_total = self.model.engine.info.mem_total if self.model.engine.info else None
        running = {s for s in self.stack.services if self.running_or_projected(s)}
        used = self.model.used_by_service()
        plans = [plan_profile(self.stack, p, running=running, used=used, engine_total=engine_total, peaks=peaks)
                 for p in self.stack.profiles.values()]
        self._last_plans = {p.profile.name: p for p in plans}
        self.push_screen(ProfilePickerScreen(plans, self.profile.name if self.profile else None), self._picked)

    def _picked(self: SkidApp, name: str | None) -> None:
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

        self.push_screen(ConfirmScreen(f"Apply profile {name}?", body), confirmed)

    def apply_profile(self: SkidApp, name: str) -> None:
        plan = self._last_plans[name]
        profile = self.stack.profiles[name]
        self.profile = profile
        self.model.set_profile(profile)
        remember_profile(self.stack.project, name)
        self.say(f"profile {name}: starts {', '.join(plan.start) or 'nothing'}, "
                          f"stops {', '.join(plan.stop) or 'nothing'}")
        # Stop first: what goes frees the memory of what comes.
        self.enqueue("stop", plan.stop, reason=f"profile {name}")
        self.enqueue("start", plan.start, reason=f"profile {name}")
        self.refresh_panels(self.service_order)

    def llm_service(self: SkidApp) -> str | None:
        if self.profile is not None and self.profile.on_demand:
            return self.profile.on_demand[0].service
        return "llm-advisor" if "llm-advisor" in self.stack.services else None

    def action_llm(self: SkidApp) -> None:
        service = self.llm_service()
        if service is None:
            self.notify("no on-demand service in this stack (profiles name them under on_demand)",
                        severity="warning")
            return
        if self.running_or_projected(service):
            self.enqueue("stop", (service,), reason="L")
            return
        free = self.model.engine_free()
        if free is None:
            self.notify(f"cannot check memory for {service}: no engine", severity="error")
            return
        check = start_check(self.stack, service, free=free, used=self.model.used_by_service(),
                            active=self.profile, idle=self.model.idle_services())
        self.last_start_check = check
        if check.fits:
            self.say(f"{service} may use up to {format_bytes(check.need)}; "
                              f"{format_bytes(check.free)} free: starting it")
            self.enqueue("start", (service,), reason="on demand")
            return

        def chosen(choice: str | None) -> None:
            if choice == "stop-and-start":
                self.enqueue("stop", tuple(s for s, _ in check.suggestions), reason=f"room for {service}")
                self.enqueue("start", (service,), reason="on demand")
            elif choice == "start":
                self.enqueue("start", (service,), reason="on demand, short of memory")

        self.push_screen(StartCheckScreen(check), chosen)

    def action_remove_data(self: SkidApp) -> None:
        """`X`: ask the engine what would go first; the dialog lists exactly that."""
        service = self.selected_service()
        if service is None:
            return
        self.say(f"remove data of {service}: listing its volumes…")
        self.list_volumes(service)

    def on_volumes_listed(self: SkidApp, message: VolumesListed) -> None:
        service, plan = message.service, message.plan
        if plan is None:
            self.say(f"✗ remove data of {service}: cannot list its volumes ({message.error}); nothing deleted")
            self.notify(f"cannot list the volumes of {service}: {message.error}", title="nothing deleted",
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
        shared += [v for v in self.stack.engine_volumes(service)
                   if v not in self.removable_volumes((service,)) and v not in shared]
        if shared:
            body.append(f"Kept, other services use them: {', '.join(map(visible, shared))}\n", style="dim")

        def confirmed(yes: bool | None) -> None:
            if yes:
                op = self.enqueue("remove-data", (service,), reason="asked for")
                if op is not None:
                    self._doomed[op.id] = plan.going
            else:
                self.say(f"remove data of {service}: cancelled, nothing deleted")

        self.push_screen(TypeToConfirmScreen(f"Remove the data of {service}?", body, service), confirmed)

    def show_activity(self: SkidApp) -> None:
        self.show_panes("pane-activity")

    @property
    def activity(self: SkidApp) -> ActivityLog:
        return self.query_one(ActivityLog)

    # -- idle stop ------------------------------------------------------------------------------------

    def stop_idle_services(self: SkidApp) -> None:
        """On-demand services idle for their whole timeout are stopped, and the user is told."""
        for service, idle_for, mem in self.model.idle_expired(self.monotonic()):
            if service in self.pending or not self.running_or_projected(service):
                continue
            op = self.enqueue("stop", (service,), reason=f"idle for {duration(idle_for)}")
            if op is None:
                continue
            self._releasing[op.id] = mem
            self.notify(f"{service} was idle for {duration(idle_for)} (CPU under 2%): stopping it frees "
                        f"{format_bytes(mem)}", title="Idle stop", timeout=10)
