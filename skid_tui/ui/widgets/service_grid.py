"""The panels in a grid whose column count follows the terminal width; arrow keys move between them."""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import Grid
from textual.events import Resize
from textual.message import Message

from skid_tui.ui.widgets.service_panel import ServicePanel

PANEL_MIN_WIDTH = 46


class ServiceGrid(Grid, can_focus=False):
    BINDINGS = [
        Binding("up,k", "move(-1, 0)", "Panel above", show=False, id="panel.up"),
        Binding("down,j", "move(1, 0)", "Panel below", show=False, id="panel.down"),
        Binding("left", "move(0, -1)", "Panel to the left", show=False, id="panel.left"),
        Binding("right", "move(0, 1)", "Panel to the right", show=False, id="panel.right"),
        Binding("home", "jump(0)", "First panel", show=False, id="panel.first"),
        Binding("end", "jump(-1)", "Last panel", show=False, id="panel.last"),
    ]

    class Scrolled(Message):
        """Other panels came into view: they may need drawing."""

    def on_resize(self, event: Resize) -> None:
        self.styles.grid_size_columns = self.columns_for(event.size.width)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if round(old_value) != round(new_value):
            self.post_message(self.Scrolled())

    def visible_panels(self) -> list[ServicePanel]:
        """Panels at least partly in view: the only ones worth drawing."""
        area = self.region
        return [p for p in self.panels if p.region.overlaps(area)]

    @staticmethod
    def columns_for(width: int) -> int:
        return max(1, width // PANEL_MIN_WIDTH)

    @property
    def panels(self) -> list[ServicePanel]:
        return list(self.query_children(ServicePanel))

    def action_move(self, rows: int, cols: int) -> None:
        panels = self.panels
        if not panels:
            return
        focused = self.screen.focused
        index = panels.index(focused) if focused in panels else -1
        if index < 0:
            panels[0].focus()
            return
        width = self.columns_for(self.size.width)
        target = index + rows * width + cols
        if 0 <= target < len(panels):
            panels[target].focus()

    def action_jump(self, index: int) -> None:
        panels = self.panels
        if panels:
            panels[index].focus()
