"""`u`: change a running service's limits now. The current limits are read from the engine (a thread), typed
over in a dialog, applied by ops.update (a thread), and the model takes the new values so the panel's marks
move. The activity log says what changed and that the next `compose up` resets it unless an override file
keeps it; `skid rightsize --write` or `skid update --write-override` write one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from skid_tui.engine.client import ENGINE_ERRORS, Engine, describe_error
from skid_tui.engine.update import ContainerLimits, UpdateFailed, read_limits
from skid_tui.ops.update import InvalidRequest, UpdateError, UpdateRequest, UpdateResult, apply
from skid_tui.stack.sizes import compact_bytes
from skid_tui.ui.screens.update import UpdateScreen

if TYPE_CHECKING:
    from skid_tui.ui.app import SkidApp


class Limits:
    def __init__(self, app: SkidApp) -> None:
        self.app = app

    def open(self, service: str) -> None:
        app = self.app
        running = [c for c in app.containers.get(service, ()) if c.is_running]
        if not running:
            app.notify(f"{service} is not running: its limits come from the compose file when it starts",
                       title="update limits")
            return
        app.run_worker(lambda: self._read(service, running[0].id), thread=True, group="limits",
                       name="read-limits", exit_on_error=False)

    def _read(self, service: str, container_id: str) -> None:
        try:
            engine = Engine.first_answering(self.app.candidates())
        except ENGINE_ERRORS as exc:
            self.app.call_from_thread(self._failed, service, f"no engine: {describe_error(exc)}")
            return
        try:
            limits = read_limits(engine, container_id)
        except (UpdateFailed, *ENGINE_ERRORS) as exc:
            message = str(exc) if isinstance(exc, UpdateFailed) else describe_error(exc)
            self.app.call_from_thread(self._failed, service, message)
            return
        finally:
            engine.close()
        self.app.call_from_thread(self._ask, service, limits)

    def _ask(self, service: str, limits: ContainerLimits) -> None:
        def chosen(request: UpdateRequest | None) -> None:
            if request is None:
                return
            self.app.say(f"update limits of {service}: applying…")
            self.app.run_worker(lambda: self._apply(request), thread=True, group="limits", name="update-limits",
                                exit_on_error=False)

        self.app.push_screen(UpdateScreen(service, limits.memory, limits.reservation, limits.cpus), chosen)

    def _apply(self, request: UpdateRequest) -> None:
        try:
            engine = Engine.first_answering(self.app.candidates())
        except ENGINE_ERRORS as exc:
            self.app.call_from_thread(self._failed, request.service, f"no engine: {describe_error(exc)}")
            return
        try:
            result = apply(engine, self.app.stack, request)
        except (InvalidRequest, UpdateError) as exc:
            self.app.call_from_thread(self._failed, request.service, str(exc))
            return
        finally:
            engine.close()
        self.app.call_from_thread(self._applied, result)

    def _applied(self, result: UpdateResult) -> None:
        app = self.app
        for change in result.changes:
            full = next((c.id for cs in app.containers.values() for c in cs if c.id.startswith(change.id)), None)
            if full is not None:
                after = change.after
                app.model.set_live_limits(full, after.memory, after.reservation, after.cpus)
            app.say(f"✓ {result.service} ({change.id}): memory {_size(change.before.memory)} → "
                    f"{_size(change.after.memory)}, reservation {_size(change.before.reservation)} → "
                    f"{_size(change.after.reservation)}, cpus {_cpus(change.before)} → {_cpus(change.after)}")
        app.say(f"  {result.note}")
        app.notify(f"{result.service}: limits changed. {result.note}", title="update limits", timeout=12)
        app.refresh_panels([result.service])

    def _failed(self, service: str, message: str) -> None:
        self.app.say(f"✗ update limits of {service}: {message}")
        self.app.notify(message, title=f"update limits of {service}", severity="error", timeout=12)


def _size(n: int) -> str:
    return compact_bytes(n) if n else "none"


def _cpus(limits: ContainerLimits) -> str:
    return f"{limits.cpus:g}" if limits.cpus else "none"
