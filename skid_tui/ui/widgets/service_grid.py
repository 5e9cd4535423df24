"""The panels in a grid whose column count follows the terminal width; arrow keys move between them.

Virtualised: only the rows in view and a few rows either side are mounted as panels. A Textual widget
costs a few milliseconds to mount and every layout pass walks all of them, so 1,000 mounted panels took
seconds to start and hundreds of milliseconds per key. Spacers above and below the mounted rows keep
the scrollable height (and the scrollbar) that of every row, so scrolling looks as if all were there.
A stack of up to MOUNT_ALL services (any usual one) has every panel mounted, as before.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from textual.app import ComposeResult
from textual.containers import Grid
from textual.events import DescendantFocus, Resize
from textual.message import Message
from textual.widget import Widget

from skid_tui.ui.keys import bind
from skid_tui.ui.widgets.service_panel import ServicePanel

PANEL_MIN_WIDTH = 46
ROW_HEIGHT = 9  # a panel's height, its `height` and the grid's `grid-rows` in skid.tcss
MARGIN_ROWS = 3  # rows mounted beyond the view on either side: a few keys' worth of movement
INITIAL_PANELS = 36  # mounted before the first layout tells the real window: a tall terminal's worth
# Up to this many services every panel stays mounted: a layout pass over 100 panels is a few ms, and
# moving then never waits for a mount (3-6 ms a panel), so keys are quickest without the window.
MOUNT_ALL = 100

PanelFactory = Callable[[str], ServicePanel]


class GridSpacer(Widget):
    """Empty rows standing for the panels that are not mounted."""

    DEFAULT_CSS = "GridSpacer { height: 0; width: 1fr; }"


class ServiceGrid(Widget, can_focus=False):
    BINDINGS = [
        bind("panel.up", "move(-1, 0)"),
        bind("panel.down", "move(1, 0)"),
        bind("panel.left", "move(0, -1)"),
        bind("panel.right", "move(0, 1)"),
        bind("panel.page_up", "page(-1)"),
        bind("panel.page_down", "page(1)"),
        bind("panel.first", "jump(0)"),
        bind("panel.last", "jump(-1)"),
    ]

    class Scrolled(Message):
        """Other panels came into view: they may need drawing."""

    def __init__(self, services: Sequence[str], make_panel: PanelFactory, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.services = list(services)
        self._index = {name: i for i, name in enumerate(self.services)}
        self._make_panel = make_panel
        self._mounted: dict[str, ServicePanel] = {}
        n = len(self.services)
        self._window = (0, n if n <= MOUNT_ALL else INITIAL_PANELS)  # service indexes [start, end)
        self._columns = 1
        self._cursor = 0  # the selected service's index; the focused panel follows it once mounted
        self._syncing = False
        self._again = False
        self._top = GridSpacer()
        self._bottom = GridSpacer()
        self._grid = Grid(classes="panel-grid")

    def compose(self) -> ComposeResult:
        yield self._top
        with self._grid:
            for name in self.services[slice(*self._window)]:
                yield self._panel(name)
        yield self._bottom

    def _panel(self, name: str) -> ServicePanel:
        panel = self._make_panel(name)
        self._mounted[name] = panel
        return panel

    # -- which panels are mounted ---------------------------------------------------------------------

    def panel(self, service: str) -> ServicePanel | None:
        """The service's panel if it is mounted (in or near the view), else None."""
        return self._mounted.get(service)

    @property
    def panels(self) -> list[ServicePanel]:
        """The mounted panels, in order."""
        return [p for p in self._grid.children if isinstance(p, ServicePanel)]

    def visible_panels(self) -> list[ServicePanel]:
        """Panels at least partly in view: the only ones worth drawing.

        Worked out from the scroll offset, not from the panels' regions: right after a scroll (or a mount)
        those still describe the last frame.
        """
        first, last = self._rows_in_view()
        names = self.services[first * self._columns : last * self._columns]
        return [p for p in map(self._mounted.get, names) if p is not None]

    @staticmethod
    def columns_for(width: int) -> int:
        return max(1, width // PANEL_MIN_WIDTH)

    def _rows_in_view(self) -> tuple[int, int]:
        """The rows [first, last) the viewport shows, partly shown ones included."""
        top, height = int(self.scroll_y), self.scrollable_content_region.height
        return top // ROW_HEIGHT, max(top // ROW_HEIGHT + 1, math.ceil((top + height) / ROW_HEIGHT))

    def _wanted_window(self) -> tuple[int, int]:
        cols, n = self._columns, len(self.services)
        if n <= MOUNT_ALL:
            return 0, n
        total_rows = math.ceil(n / cols)
        first, last = self._rows_in_view()
        last = min(last, total_rows)
        start, end = self._window
        start_row, end_row = start // cols, math.ceil(end / cols)
        # Keep the window while the view stays inside it with a row to spare (none needed at the ends),
        # so a key press moving one row seldom mounts anything.
        aligned = start % cols == 0 and end == min(n, end_row * cols)
        covers = start_row <= max(0, first - 1) and end_row >= min(total_rows, last + 1)
        small = end_row - start_row <= last - first + 2 * MARGIN_ROWS + 2
        if aligned and covers and small:
            return self._window
        start_row, end_row = max(0, first - MARGIN_ROWS), min(total_rows, last + MARGIN_ROWS)
        return start_row * cols, min(n, end_row * cols)

    def _layout_spacers(self) -> None:
        cols = self._columns
        start, end = self._window
        total_rows = math.ceil(len(self.services) / cols)
        start_row, end_row = start // cols, math.ceil(end / cols)
        self._top.styles.height = start_row * ROW_HEIGHT
        # An explicit height, not auto: the scrollable height stays that of every row while panels mount.
        self._grid.styles.height = (end_row - start_row) * ROW_HEIGHT
        self._bottom.styles.height = max(0, total_rows - end_row) * ROW_HEIGHT

    def _follow(self) -> None:
        """Mount what the view needs (soon: mounting is asynchronous); at most one pass runs at a time."""
        if self._syncing:
            self._again = True
            return
        self._syncing = True
        self.call_later(self._sync)

    async def _sync(self) -> None:
        try:
            while True:
                self._again = False
                wanted = self._wanted_window()
                if wanted != self._window:
                    start, end = self._window
                    view = self._view_window()
                    if (wanted[1] <= start or wanted[0] >= end) and view != wanted:
                        # A jump (end, home, the command palette): the rows in view first, the rows around
                        # them once that frame is painted. Mounting costs a few ms a panel.
                        await self._move_window(view)
                        self._focus_cursor()
                        self.call_after_refresh(self._follow)
                        break
                    await self._move_window(wanted)
                self._focus_cursor()
                if not self._again:
                    break
        finally:
            self._syncing = False

    def _view_window(self) -> tuple[int, int]:
        first, last = self._rows_in_view()
        return first * self._columns, min(len(self.services), last * self._columns)

    async def _move_window(self, wanted: tuple[int, int]) -> None:
        new = self.services[slice(*wanted)]
        staying = set(new)
        kept = [n for n in self.services[slice(*self._window)] if n in staying]  # a run of new
        leaving = [self._mounted.pop(n) for n in self.services[slice(*self._window)] if n not in staying]
        self._window = wanted
        async with self.batch():  # one frame: spacers and panels change together
            self._layout_spacers()
            if kept:
                at = new.index(kept[0])
                head, tail = new[:at], new[at + len(kept):]
                if head:
                    await self._grid.mount_all([self._panel(n) for n in head], before=self._mounted[kept[0]])
                if tail:
                    await self._grid.mount_all([self._panel(n) for n in tail], after=self._mounted[kept[-1]])
            else:
                await self._grid.mount_all([self._panel(n) for n in new])
            if self.services[self._cursor] not in staying and self.screen.focused in leaving:
                # Scrolled away (wheel, scrollbar): the selection moves into the view; the view stays.
                first, _ = self._rows_in_view()
                self._cursor = min(max(first * self._columns, wanted[0]), wanted[1] - 1)
            self._focus_cursor()  # before the removal, so Textual does not pick (and scroll to) another
            if leaving:
                await self._grid.remove_children(leaving)
        self.post_message(self.Scrolled())

    async def set_services(self, services: Sequence[str]) -> None:
        """Show these services in this order (a filter or a sort): panels are kept, moved or mounted, never
        rebuilt; the selection stays on its service while it is shown, and stays in view."""
        if list(services) == self.services:
            return
        selected = self.services[self._cursor] if self.services else None
        self.services = list(services)
        self._index = {name: i for i, name in enumerate(self.services)}
        self._cursor = self._index.get(selected, 0) if selected is not None else 0
        n = len(self.services)
        wanted = (0, n) if n <= MOUNT_ALL else self._view_window()
        new = self.services[slice(*wanted)]
        staying = set(new)
        leaving = [self._mounted.pop(name) for name in list(self._mounted) if name not in staying]
        self._window = wanted
        async with self.batch():
            if leaving:
                await self._grid.remove_children(leaving)
            missing = [name for name in new if name not in self._mounted]
            if missing:
                await self._grid.mount_all([self._panel(name) for name in missing])
            for at, name in enumerate(new):
                panel = self._mounted[name]
                if self._grid.children[at] is not panel:
                    self._grid.move_child(panel, before=at)
            self._layout_spacers()
        if self.services:
            self._scroll_to_row(self._cursor // self._columns)
            self._focus_cursor()
        self.post_message(self.Scrolled())
        self._follow()

    @property
    def selected(self) -> str | None:
        """The selected service (its panel has the focus once mounted); None when no panel is shown."""
        return self.services[self._cursor] if self.services else None

    def visible_or_first(self) -> ServicePanel:
        visible = self.visible_panels()
        return visible[0] if visible else next(iter(self._mounted.values()))

    def _focus_cursor(self) -> None:
        if not self.services or not self.is_attached:
            return
        panel = self._mounted.get(self.services[self._cursor])
        focused = self.screen.focused
        # Only while the selection is ours to show: a panel has focus, or nothing has (at the start).
        if panel is not None and panel.is_attached and focused is not panel and (
                focused is None or isinstance(focused, ServicePanel)):
            self.screen.set_focus(panel, scroll_visible=False)

    # -- events ---------------------------------------------------------------------------------------

    def on_resize(self, event: Resize) -> None:
        columns = self.columns_for(event.size.width)
        changed = columns != self._columns
        self._columns = columns
        self._grid.styles.grid_size_columns = columns
        self._layout_spacers()
        if changed and self.services:
            self._scroll_to_row(self._cursor // columns)  # the selection moved to another row: keep it in view
        self._follow()  # the window is checked against the new columns and height (and realigned)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if round(old_value) != round(new_value):
            # After the frame: the rows in view are mounted (the margin is there for that), so the view
            # is painted first and the window catches up behind it.
            self.call_after_refresh(self._follow)
            self.post_message(self.Scrolled())

    def on_descendant_focus(self, event: DescendantFocus) -> None:
        # Tab, a click or the command palette moved the focus: the selection follows it.
        widget = event.widget
        if isinstance(widget, ServicePanel) and widget.service in self._index:
            self._cursor = self._index[widget.service]

    # -- moving the selection -------------------------------------------------------------------------

    def go_to(self, service: str) -> None:
        """Select the service's panel, scrolling (and mounting) it into view."""
        if service in self._index:
            self._select(self._index[service])

    def _select(self, index: int) -> None:
        self._cursor = index
        self._scroll_to_row(index // self._columns)
        panel = self._mounted.get(self.services[index])
        if panel is not None and panel.is_attached:
            self.screen.set_focus(panel, scroll_visible=False)
        else:
            self._follow()  # mounts it, then focuses it

    def _scroll_to_row(self, row: int) -> None:
        """Scroll just enough to show the whole row (computed, not measured: it may not be mounted yet)."""
        top, height = row * ROW_HEIGHT, self.scrollable_content_region.height
        if top < self.scroll_y:
            self.scroll_to(y=top, animate=False, immediate=True)
        elif top + ROW_HEIGHT > self.scroll_y + height:
            self.scroll_to(y=top + ROW_HEIGHT - height, animate=False, immediate=True)

    def _current(self) -> int:
        """The selected service's index, or -1 when no panel has the focus."""
        return self._cursor if isinstance(self.screen.focused, ServicePanel) else -1

    def action_move(self, rows: int, cols: int) -> None:
        if not self.services:
            return
        index = self._current()
        if index < 0:
            self._select(self._index[self.visible_or_first().service])
            return
        target = index + rows * self._columns + cols
        if 0 <= target < len(self.services):
            self._select(target)

    def action_page(self, direction: int) -> None:
        if not self.services:
            return
        first, last = self._rows_in_view()
        rows = max(1, last - first - 2)  # the rows wholly in view
        index = max(0, self._current())
        target = index + direction * rows * self._columns
        if target < 0:
            target = index % self._columns
        elif target >= len(self.services):
            target = len(self.services) - 1
        self._select(target)

    def action_jump(self, index: int) -> None:
        if self.services:
            self._select(index % len(self.services))
