"""`s`: a shell in the selected service's container, on the dashboard's own terminal.

The dashboard is suspended (Textual's `App.suspend()`: the terminal back in its normal mode, the screen as it
was before skid) while the session runs through the Engine API (engine.exec), and restored, exactly as it
was, when the shell exits. A service that is not running is started first, after the same memory check as
the LLM's `L`; the shell opens once its container runs.
"""

from __future__ import annotations

import sys
from functools import partial
from typing import TYPE_CHECKING

from textual.app import SuspendNotSupported

from skid_tui.ops.shell import Session, ShellError, prepare
from skid_tui.safe_text import visible

if TYPE_CHECKING:
    from skid_tui.ui.app import SkidApp


class Shells:
    def __init__(self, app: SkidApp) -> None:
        self.app = app
        self.waiting: str | None = None  # a service being started for a shell
        self.sessions = 0  # shells opened and ended (the tests count them)
        self.last_exit: int | None = None

    def _running(self, service: str) -> bool:
        return any(c.state == "running" for c in self.app.containers.get(service, ()))

    def open(self, service: str) -> None:
        app = self.app
        if self._running(service) and not app.lifecycle.queue.busy(service):
            self._find(service)
            return
        if app.lifecycle.queue.busy(service):
            self.waiting = service
            app.notify(f"{service}: its shell opens once it runs", timeout=5)
            return
        self.waiting = service
        if app.lifecycle.start_checked(service, "for a shell"):
            app.notify(f"{service} is not running: starting it; its shell opens once it runs", timeout=6)
        else:
            self.waiting = None

    def cancel(self, service: str) -> None:
        if self.waiting == service:
            self.waiting = None
            self.app.notify(f"{service} did not start: no shell", severity="warning", timeout=6)

    def containers_changed(self, service: str) -> None:
        """The watcher told of the service's containers: the shell waiting for it opens once it runs."""
        if self.waiting == service and self._running(service) and not self.app.lifecycle.queue.busy(service):
            self.waiting = None
            self._find(service)

    def _find(self, service: str) -> None:
        self.app.say(f"shell in {service}: looking for bash, then sh…")
        self.app.run_worker(partial(self._plan, service), thread=True, group="shell", name="shell-plan",
                            exit_on_error=False)

    def _plan(self, service: str) -> None:
        """On a worker thread: the engine, the container and the shell it has (probes take a moment)."""
        app = self.app
        try:
            session = prepare(app.stack, service, app.candidates)
        except ShellError as exc:
            app.call_from_thread(self._failed, service, str(exc))
            return
        app.call_from_thread(self._enter, session)

    def _failed(self, service: str, why: str) -> None:
        self.app.say(f"✗ shell in {service}: {why}")
        self.app.notify(why, title=f"no shell in {service}", severity="error", timeout=10)

    def _enter(self, session: Session) -> None:
        """On the event loop: the dashboard hands the terminal to the session until the shell exits."""
        app = self.app
        plan = session.plan
        code: int | None = None
        why = ""
        try:
            with app.suspend():
                intro = f"skid: {' '.join(plan.command)} in {plan.container}"
                if plan.note:
                    intro += f" ({plan.note})"
                sys.__stdout__.write(visible(intro) + "; exit it to return to the dashboard\r\n")
                sys.__stdout__.flush()
                code = session.run(tty=True)
        except SuspendNotSupported:
            why = f"this terminal cannot hand over to a shell: run `skid shell {plan.service}` beside it"
        except ShellError as exc:
            why = str(exc)
        finally:
            session.close()
        if why:
            self._failed(plan.service, why)
            return
        self.sessions += 1
        self.last_exit = code
        app.say(f"shell in {plan.container} ended (exit {code})")
        app.notify(f"shell in {plan.container} ended (exit {code})", timeout=5)
        app.refresh_panels(app.service_order)
