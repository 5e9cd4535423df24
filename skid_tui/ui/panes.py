"""The pane area under the panels: the activity log, service logs, builds and test runs, as tabs.

A pane's lines live in its LogBuffer; a pane out of sight (another tab, or the area hidden) buffers
without drawing and catches up when shown.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from textual.content import Content
from textual.css.query import NoMatches
from textual.widgets import TabbedContent, TabPane

from skid_tui.engine.client import Engine
from skid_tui.engine.logs import LineKind, LineMailbox, LogFollower, LogLine, service_container
from skid_tui.model.logbuffer import LogBuffer
from skid_tui.model.logmerge import HISTORY_WAIT, LogMerger
from skid_tui.safe_text import visible
from skid_tui.ui.messages import LogLinesArrived
from skid_tui.ui.widgets.log_view import LogPane, LogView

if TYPE_CHECKING:
    from skid_tui.ui.app import SkidApp


def pane_id(kind: str, name: str) -> str:
    return f"pane-{kind}-{name}".replace(".", "-")


class Panes:
    """The pane area's owner: opening, feeding, showing and closing panes; the app holds one."""

    def __init__(self, app: SkidApp) -> None:
        self.app = app
        self.followers: dict[str, LogFollower] = {}
        self.mailboxes: dict[str, LineMailbox] = {}  # pane -> lines its reader delivered, not yet shown
        self.merger: LogMerger | None = None  # the stack pane's, while it is open
        self.stack_pane = ""
        self.stack_followed: set[str] = set()
        self._stack_wakes: list[threading.Event] = []

    @property
    def tabs(self) -> TabbedContent:
        return self.app.query_one("#panes", TabbedContent)

    def show(self, active: str | None = None) -> None:
        with contextlib.suppress(NoMatches):
            area = self.tabs
            area.display = True
            if active is not None:
                area.active = active

    def toggle(self) -> None:
        area = self.tabs
        area.display = not area.display
        if area.display:
            self.app.call_after_refresh(self.catch_up_active)

    def zoom(self) -> None:
        """The panes take the whole screen (or give it back to the panels)."""
        from skid_tui.ui.widgets.service_grid import ServiceGrid

        area = self.tabs
        area.display = True
        area.toggle_class("-zoomed")
        self.app.query_one(ServiceGrid).display = not area.has_class("-zoomed")
        self.app.call_after_refresh(self.catch_up_active)

    def catch_up_active(self) -> None:
        with contextlib.suppress(NoMatches):
            pane = self.tabs.active_pane
            if pane is not None:
                for view in pane.query(LogView):
                    view.catch_up()

    def log_pane(self, kind: str, name: str, title: str) -> tuple[LogPane, bool]:
        """The pane of that kind and name, made if missing; (pane, made now)."""
        pid = pane_id(kind, name)
        try:
            return self.app.query_one(f"#{pid}-body", LogPane), False
        except NoMatches:
            pass
        pane = LogPane(title, LogBuffer(), id=f"{pid}-body", kind=kind)
        # A service's or a suite's name is data: a tab label as text (Content, never markup), controls visible.
        self.tabs.add_pane(TabPane(Content(visible(title)), pane, id=pid))
        return pane, True

    # -- service logs -------------------------------------------------------------------------------------

    def open_logs(self, service: str) -> None:
        app = self.app
        pane, made = self.log_pane("logs", service, f"logs {service}")
        self.show(pane_id("logs", service))
        if made:
            follower = LogFollower(lambda: Engine.first_answering(app.candidates()),
                                   service_container(app.stack.project, service), self.sink(pane))
            self.followers[pane.id] = follower
            app.run_worker(follower.run, thread=True, group="logs", name=f"logs-{service}", exit_on_error=False)
        app.call_after_refresh(pane.view.focus)

    # -- the stack's logs, merged --------------------------------------------------------------------------

    def open_stack_logs(self) -> None:
        """`A`: one pane following every service that has a container, merged by timestamp (model.logmerge);
        services that get one later join it. The search (`/`, a regular expression) and its filter (`f`) narrow
        it to services: `^(api|redis) `."""
        app = self.app
        pid = pane_id("stack", "all")
        pane, made = self.log_pane("stack", "all", "all logs")
        self.show(pid)
        if made:
            self.merger = LogMerger(list(app.stack.services))
            self.stack_pane = pane.id
            self.stack_followed: set[str] = set()
            for service in app.stack.services:
                self.follow_in_stack(service)
        app.call_after_refresh(pane.view.focus)

    def follow_in_stack(self, service: str) -> None:
        """Add the service's follower to the stack pane (when it is open and the service has a container)."""
        merger = self.merger
        if merger is None or service in self.stack_followed or not self.app.containers.get(service):
            return
        self.stack_followed.add(service)
        merger.follow(service)
        app = self.app
        pid = self.stack_pane
        waiting = threading.Event()  # a wake-up of the UI is on its way: one at a time, however fast lines come

        def deliver(lines: Sequence[LogLine]) -> None:
            merger.add(service, lines)
            if not waiting.is_set():
                waiting.set()
                app.post_message(LogLinesArrived(pid))

        follower = LogFollower(lambda: Engine.first_answering(app.candidates()),
                               service_container(app.stack.project, service), deliver)
        self.followers[f"{pid}:{service}"] = follower
        self._stack_wakes.append(waiting)
        app.run_worker(follower.run, thread=True, group="logs", name=f"stack-logs-{service}", exit_on_error=False)
        # The first take waits for every history; one that has none must not hold the others up long.
        app.set_timer(HISTORY_WAIT, lambda: app.post_message(LogLinesArrived(pid)))

    def _take_stack(self) -> None:
        for wake in self._stack_wakes:
            wake.clear()
        merger = self.merger
        if merger is None:
            return
        lines = merger.take()
        if lines:
            with contextlib.suppress(NoMatches):
                self.app.query_one(f"#{self.stack_pane}", LogPane).add(lines)

    def sink(self, pane: LogPane) -> Callable[[Sequence[LogLine]], None]:
        """A thread-safe sink for a pane's lines (a log follower's, a build's, a test run's): into the pane's
        mailbox, with one wake-up of the UI at a time however fast they come."""
        mailbox = LineMailbox()
        self.mailboxes[pane.id] = mailbox
        pid = pane.id

        def deliver(lines: Sequence[LogLine]) -> None:
            if lines and mailbox.put(lines):
                self.app.post_message(LogLinesArrived(pid))

        return deliver

    def lines_arrived(self, message: LogLinesArrived) -> None:
        if message.pane == self.stack_pane:
            self._take_stack()
            return
        box = self.mailboxes.get(message.pane)
        lines = box.take() if box is not None else message.lines
        if lines:
            with contextlib.suppress(NoMatches):
                self.app.query_one(f"#{message.pane}", LogPane).add(lines)

    def close_current(self) -> None:
        """`w`: the pane on show goes (never the activity log); what feeds it stops."""
        area = self.tabs
        active = area.active
        if not active or active == "pane-activity":
            return
        body = f"{active}-body"
        follower = self.followers.pop(body, None)
        if follower is not None:
            follower.stop()
        if body == self.stack_pane:
            for key in [k for k in self.followers if k.startswith(f"{body}:")]:
                self.followers.pop(key).stop()
            self.merger, self.stack_pane, self.stack_followed, self._stack_wakes = None, "", set(), []
        self.mailboxes.pop(body, None)
        self.app.jobs.pane_closed(body)  # a build or test run feeding it is cancelled
        area.remove_pane(active)

    def stop_followers(self) -> None:
        for follower in self.followers.values():
            follower.stop()

    @staticmethod
    def note(pane: LogPane, text: str) -> None:
        # A note may quote the engine or a container (an error, a name): the pane draws it as it draws lines,
        # controls visible; one line, so a newline in it does not break the pane's rows.
        pane.add([LogLine("", text, LineKind.NOTE)])
