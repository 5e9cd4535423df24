"""`/` on the panels: the filter's input line (live as it is typed; enter keeps it, escape clears it) and the
line under the header saying what the panels are narrowed to."""

from __future__ import annotations

from textual.message import Message
from textual.widgets import Input

from skid_tui.ui.keys import bind


class PanelFilter(Input):
    BINDINGS = [bind("filter.clear", "clear_filter")]

    class Done(Message):
        """The user left the filter (enter keeps it, escape cleared it): the panels take the focus back."""

    def action_clear_filter(self) -> None:
        self.value = ""
        self.post_message(self.Done())
