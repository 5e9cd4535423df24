"""`h`: a service's memory and CPU over the last hour, day or week (ops.history), as text charts
(ui.widgets.history_chart) against its budget, with the range's p50, p95, p99 and max under them.

The store is SQLite: every read runs on a worker thread and comes back as a message; the charts are drawn
to the screen's size, and asked again for one point per column when that changes.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Static
from textual.worker import Worker, WorkerState, get_current_worker

from skid_tui.ops.history import RANGE_WORDS, RANGES, HistoryView, numbers_line
from skid_tui.safe_text import visible
from skid_tui.ui.keys import bind
from skid_tui.ui.widgets.history_chart import CPU_LEGEND, MEMORY_LEGEND, chart_columns, cpu_chart, memory_chart

CHROME_WIDTH = 4  # the body's border and a cell of padding on each side
CHROME_HEIGHT = 2  # its border
FIXED_ROWS = 3  # the two headings and the keys line
MAX_WIDTH = 200  # the charts' widest: more columns are no easier to read, and each is one more point to read
MIN_CHART, MAX_CHART = 4, 20
MEMORY_SHARE = 0.6  # of the rows left for charts: memory is what budgets are about
RESIZE_SETTLE = 0.3  # seconds: a terminal being dragged sends a burst of sizes; read the store once, after


def chart_sizes(width: int, height: int, numbers_rows: int) -> tuple[int, int, int]:
    """(chart width, memory chart height, CPU chart height) for a screen of width x height cells."""
    inner = max(1, min(MAX_WIDTH, width - CHROME_WIDTH))
    spare = height - CHROME_HEIGHT - FIXED_ROWS - numbers_rows
    memory = max(MIN_CHART, min(MAX_CHART, round(spare * MEMORY_SHARE)))
    cpu = max(MIN_CHART, min(MAX_CHART, spare - memory))
    return inner, memory, cpu


class HistoryScreen(ModalScreen[None]):
    """One service's history; `load(range_name, points)` reads it (blocking) for one range."""

    BINDINGS = [
        bind("history.hour", "range('hour')"),
        bind("history.day", "range('day')"),
        bind("history.week", "range('week')"),
        bind("history.close", "dismiss"),
    ]

    DEFAULT_CSS = """
    HistoryScreen {
        align: center middle;
    }
    #history-body {
        width: 100%;
        max-width: 204;
        height: auto;
        max-height: 100%;
        border: round $accent;
        padding: 0 1;
        background: $surface;
    }
    #history-body > Static {
        text-wrap: nowrap;
        text-overflow: clip;
    }
    #history-body > #history-numbers {
        text-wrap: wrap;
    }
    #history-body.-stale .history-chart {
        text-opacity: 50%;
    }
    """

    class Loaded(Message):
        """The store answered for one range, read for `points` columns."""

        def __init__(self, view: HistoryView, points: int) -> None:
            super().__init__()
            self.view = view
            self.points = points

    def __init__(self, service: str, load: Callable[[str, int], HistoryView], range_name: str = "hour") -> None:
        super().__init__()
        self.service = service
        self.load = load
        self.range_name = range_name
        self.view: HistoryView | None = None
        self.loading = False
        self.error: str | None = None
        self._points = 0  # what the last read asked for
        self._settle: Timer | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="history-body"):
            yield Static(MEMORY_LEGEND.copy(), id="history-memory-title", markup=False)
            yield Static(id="history-memory", classes="history-chart", markup=False)
            yield Static(CPU_LEGEND.copy(), id="history-cpu-title", markup=False)
            yield Static(id="history-cpu", classes="history-chart", markup=False)
            yield Static(id="history-numbers", markup=False)
            yield Static(id="history-keys", markup=False)

    def on_mount(self) -> None:
        self.action_range(self.range_name)

    # -- reading --------------------------------------------------------------------------------------

    def action_range(self, range_name: str) -> None:
        """Show another range, or read this one again."""
        if range_name not in RANGES:
            return
        self.range_name = range_name
        self._request()

    def _request(self) -> None:
        self.loading, self.error = True, None
        self._points = chart_columns(self._sizes()[0])
        self._read(self.range_name, self._points)
        self._draw()

    @work(thread=True, exclusive=True, group="history", exit_on_error=False)
    def _read(self, range_name: str, points: int) -> None:
        view = self.load(range_name, points)
        if not get_current_worker().is_cancelled:
            self.post_message(self.Loaded(view, points))

    @on(Loaded)
    def loaded(self, message: Loaded) -> None:
        if message.view.range_name != self.range_name:
            return  # a range the user has already left
        self.view, self.loading = message.view, False
        self._draw()
        if chart_columns(self._sizes()[0]) != message.points:
            self._settled()  # resized while it was read

    @on(Worker.StateChanged)
    def worker_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "history" and event.state == WorkerState.ERROR:
            self.loading, self.error = False, f"could not read the history: {event.worker.error}"
            self._draw()

    # -- drawing --------------------------------------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        self._draw()
        if self._settle is not None:
            self._settle.stop()
        self._settle = self.set_timer(RESIZE_SETTLE, self._settled)

    def _settled(self) -> None:
        """Once a resize has settled: read again if the charts now have another number of columns."""
        if not self.loading and chart_columns(self._sizes()[0]) != self._points:
            self._request()

    def _numbers(self) -> Text:
        words = RANGE_WORDS[self.range_name]
        if self.error is not None:
            return Text(visible(self.error), style="red")
        if self.loading:
            return Text(f"reading the {words} of {visible(self.service)}…", style="dim")
        if self.view is None:
            return Text("")
        return Text(numbers_line(self.view))

    def _keys(self) -> Text:
        text = Text()
        for key, name in (("1", "hour"), ("2", "day"), ("3", "week")):
            text.append(f"{key} {name}", style="bold" if name == self.range_name else "dim")
            text.append(" · ", style="dim")
        text.append("esc close", style="dim")
        return text

    def _sizes(self, numbers: Text | None = None) -> tuple[int, int, int]:
        width, height = self.app.size
        if numbers is None:
            return chart_sizes(width, height, 2)  # the width is all the caller needs
        rows = len(numbers.wrap(self.app.console, chart_sizes(width, height, 0)[0]))
        return chart_sizes(width, height, rows)

    def _draw(self) -> None:
        if not self.is_mounted:
            return
        numbers = self._numbers()
        width, memory_rows, cpu_rows = self._sizes(numbers)
        body = self.query_one("#history-body")
        body.border_title = Text(f"history: {visible(self.service)} · {RANGE_WORDS[self.range_name]}")
        # Charts of another range (or of this one before a read failed) stay, dimmed, rather than vanish.
        shown = self.view.range_name if self.view is not None else None
        body.set_class(self.loading or self.error is not None or shown != self.range_name, "-stale")
        memory = self.query_one("#history-memory", Static)
        cpu = self.query_one("#history-cpu", Static)
        memory.styles.height, cpu.styles.height = memory_rows, cpu_rows
        if self.view is not None:
            memory.update(memory_chart(self.view, width, memory_rows))
            cpu.update(cpu_chart(self.view, width, cpu_rows))
        self.query_one("#history-numbers", Static).update(numbers)
        self.query_one("#history-keys", Static).update(self._keys())
