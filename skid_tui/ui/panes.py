"""The pane area under the panels: the activity log, service logs, builds and test runs, as tabs.

A pane's lines live in its LogBuffer; a pane out of sight (another tab, or the area hidden) buffers
without drawing and catches up when shown.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from textual.content import Content
from textual.css.query import NoMatches
from textual.widgets import TabbedContent, TabPane

from skid_tui.engine.client import Engine
from skid_tui.engine.logs import LineMailbox, LogFollower, LogLine, service_container
from skid_tui.model.logbuffer import LogBuffer
from skid_tui.safe_text import visible
from skid_tui.ui.messages import LogLinesArrived
from skid_tui.ui.widgets.log_view import LogPane, LogView

if TYPE_CHECKING:
    from skid_tui.ui.app import SkidApp


def pane_id(kind: str, name: str) -> str:
    return f"pane-{kind}-{name}".replace(".", "-")


class PanesMixin:
    """Mixed into SkidApp: opening, feeding, showing and closing panes."""

    def _init_panes(self: SkidApp) -> None:
        self.followers: dict[str, LogFollower] = {}
        self.mailboxes: dict[str, LineMailbox] = {}  # pane -> lines its reader delivered, not yet shown

    @property
    def panes(self: SkidApp) -> TabbedContent:
        return self.query_one("#panes", TabbedContent)

    def show_panes(self: SkidApp, active: str | None = None) -> None:
        with contextlib.suppress(NoMatches):
            area = self.panes
            area.display = True
            if active is not None:
                area.active = active

    def action_panes(self: SkidApp) -> None:
        area = self.panes
        area.display = not area.display
        if area.display:
            self.call_after_refresh(self.catch_up_active)

    def action_zoom_panes(self: SkidApp) -> None:
        """The panes take the whole screen (or give it back to the panels)."""
        from skid_tui.ui.widgets.service_grid import ServiceGrid

        area = self.panes
        area.display = True
        area.toggle_class("-zoomed")
        self.query_one(ServiceGrid).display = not area.has_class("-zoomed")
        self.call_after_refresh(self.catch_up_active)

    def catch_up_active(self: SkidApp) -> None:
        with contextlib.suppress(NoMatches):
            pane = self.panes.active_pane
            if pane is not None:
                for view in pane.query(LogView):
                    view.catch_up()

    def on_tabbed_content_tab_activated(self: SkidApp, event: TabbedContent.TabActivated) -> None:
        self.call_after_refresh(self.catch_up_active)

    def log_pane(self: SkidApp, kind: str, name: str, title: str) -> tuple[LogPane, bool]:
        """The pane of that kind and name, made if missing; (pane, made now)."""
        pid = pane_id(kind, name)
        try:
            return self.query_one(f"#{pid}-body", LogPane), False
        except NoMatches:
            pass
        pane = LogPane(title, LogBuffer(), id=f"{pid}-body", kind=kind)
        # A service's or a suite's name is data: a tab label as text (Content, never markup), controls visible.
        self.panes.add_pane(TabPane(Content(visible(title)), pane, id=pid))
        return pane, True

    # -- service logs -------------------------------------------------------------------------------------

    def action_logs(self: SkidApp) -> None:
        service = self.selected_service()
        if service is not None:
            self.open_logs(service)

    def open_logs(self: SkidApp, service: str) -> None:
        pane, made = self.log_pane("logs", service, f"logs {service}")
        self.show_panes(pane_id("logs", service))
        if made:
            follower = LogFollower(lambda: Engine.first_answering(self.candidates()),
                                   service_container(self.stack.project, service), self.pane_sink(pane))
            self.followers[pane.id] = follower
            self.run_worker(follower.run, thread=True, group="logs", name=f"logs-{service}", exit_on_error=False)
        self.call_after_refresh(pane.view.focus)

    def pane_sink(self: SkidApp, pane: LogPane) -> Callable[[Sequence[LogLine]], None]:
        """A thread-safe sink for a pane's lines (a log follower's, a build's, a test run's): into the pane's
        mailbox, with one wake-up of the UI at a time however fast they come."""
        mailbox = LineMailbox()
        self.mailboxes[pane.id] = mailbox
        pid = pane.id

        def deliver(lines: Sequence[LogLine]) -> None:
            if lines and mailbox.put(lines):
                self.post_message(LogLinesArrived(pid))

        return deliver

    def on_log_lines_arrived(self: SkidApp, message: LogLinesArrived) -> None:
        box = self.mailboxes.get(message.pane)
        lines = box.take() if box is not None else message.lines
        if lines:
            with contextlib.suppress(NoMatches):
                self.query_one(f"#{message.pane}", LogPane).add(lines)

    def action_close_pane(self: SkidApp) -> None:
        area = self.panes
        active = area.active
        if not active or active == "pane-activity":
            return
        body = f"{active}-body"
        follower = self.followers.pop(body, None)
        if follower is not None:
            follower.stop()
        self.mailboxes.pop(body, None)
        self.on_pane_closed(body)
        area.remove_pane(active)

    def on_pane_closed(self: SkidApp, body: str) -> None:
        """A hook for builds and test runs: cancel what feeds a closed pane."""

    def stop_followers(self: SkidApp) -> None:
        for follower in self.followers.values():
            follower.stop()

    def note(self: SkidApp, pane: LogPane, text: str) -> None:
        # A note may quote the engine or a container (an error, a name): the pane draws it as it draws lines,
        # controls visible; one line, so a newline in it does not break the pane's rows.
        pane.add([LogLine("", text, 0)])
