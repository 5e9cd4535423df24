"""`h`, the history view: load_view against a fake store, the text charts cell by cell, and the screen under
Pilot with a fake load (no SQLite, no engine). Times are UTC (conftest pins TZ)."""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime

import pytest
from rich.cells import cell_len
from textual.app import App
from textual.widgets import Static

from skid_tui.model.series import Mark, Point, Series, Summary
from skid_tui.ops.history import RANGES, HistoryView, load_view, numbers_line, summary_lines
from skid_tui.ui.screens.history import HistoryScreen, chart_sizes
from skid_tui.ui.widgets.history_chart import EIGHTHS, LEFT, chart_columns, cpu_chart, memory_chart
from tests.factories import MiB, demo_stack

UNTIL = datetime(2026, 3, 2, 10, 0, tzinfo=UTC).timestamp()  # a Monday, 10:00
BLOCKS = set(EIGHTHS)


def fractions(n: int) -> dict[str, int]:
    """Where things happen, as columns of an n-column series: proportional, so every width has them all."""
    return {"on": n // 16, "oom": n * 10 // 16, "back": n * 12 // 16}


def make_series(since: float, until: float, points: int) -> Series:
    """Off, then a memory ramp from 100M to the 512M maximum (OOM-killed at its top), off again, then
    restarted at a flat 150M with an idle CPU (0%)."""
    step = (until - since) / points
    at = fractions(points)
    out = []
    for i in range(points):
        t = since + i * step
        if i < at["on"] or at["oom"] < i < at["back"]:
            out.append(Point(t, 0.0, 0, None, None, 0))
        elif i <= at["oom"]:
            f = (i - at["on"]) / max(1, at["oom"] - at["on"])
            mem = 100 * MiB + f * 412 * MiB
            out.append(Point(t, mem * 0.95, int(mem), 20.0 * f, 30.0 * f, 60))
        else:
            out.append(Point(t, 150 * MiB, 150 * MiB, 0.0, 0.0, 60))
    marks = (
        Mark("skid-demo", "api", "c1", since + at["on"] * step + 1, "start", "s1"),
        Mark("skid-demo", "api", "c1", since + at["oom"] * step + 1, "oom", "o1"),
        Mark("skid-demo", "api", "c2", since + at["back"] * step + 1, "start", "s2"),
    )
    return Series("skid-demo", "api", since, until, step, 1, tuple(out), marks)


def make_summary(since: float, until: float, samples: int = 3000) -> Summary:
    return Summary("skid-demo", "api", since, until, samples, 200 * MiB, 480 * MiB, 500 * MiB, 512 * MiB,
                   4.0, 18.0, 19.5, 30.0, 1, 1, since, until)


class FakeStore:
    def __init__(self, samples: int = 3000) -> None:
        self.samples = samples
        self.asked: list[tuple[str, str, float, float | None, int | None]] = []

    def series(self, project: str, service: str, since: float, until: float | None = None,
               points: int = 120) -> Series:
        self.asked.append((project, service, since, until, points))
        return make_series(since, until or UNTIL, points)

    def summary(self, project: str, service: str, since: float, until: float | None = None) -> Summary:
        self.asked.append((project, service, since, until, None))
        return make_summary(since, until or UNTIL, self.samples)


def view_for(width: int, range_name: str = "hour", points: int | None = None) -> HistoryView:
    n = points or chart_columns(width)
    return load_view(FakeStore(), demo_stack(), "api", range_name, n, now=UNTIL)


def lines_of(text_lines: str) -> list[str]:
    return text_lines.split("\n")


# -- ops ------------------------------------------------------------------------------------------


def test_load_view_reads_the_range_and_takes_the_budget_from_the_stack():
    store = FakeStore()
    view = load_view(store, demo_stack(), "api", "day", 64, now=UNTIL)
    day = UNTIL - 86400
    assert store.asked == [("skid-demo", "api", day, UNTIL, 64), ("skid-demo", "api", day, UNTIL, None)]
    assert (view.standard, view.maximum, view.cpu_limit) == (256 * MiB, 512 * MiB, 0.5)
    assert view.range_name == "day" and view.range_words == "last day"
    gone = load_view(FakeStore(), demo_stack(), "removed-from-compose", "hour", 10, now=UNTIL)
    assert (gone.standard, gone.maximum, gone.cpu_limit) == (None, None, None)
    with pytest.raises(ValueError, match="unknown range"):
        load_view(store, demo_stack(), "api", "year", 10, now=UNTIL)
    assert RANGES == {"hour": 3600, "day": 86400, "week": 7 * 86400}


def test_the_numbers_as_one_line_and_as_lines_for_a_command():
    view = view_for(80)
    assert numbers_line(view) == ("memory p50 200M p95 480M p99 500M max 512M · cpu p50 4.0% p95 18% p99 20% "
                                  "max 30% · 1 OOM kill · 1 restart · 3000 samples")
    assert summary_lines(view)[1:3] == ["memory  p50 200M p95 480M p99 500M max 512M  (standard 256M, maximum 512M)",
                                        "cpu     p50 4.0% p95 18% p99 20% max 30%  (limit 50%)"]
    empty = load_view(FakeStore(samples=0), demo_stack(), "api", "week", 10, now=UNTIL)
    assert numbers_line(empty) == "no history for api in the last week yet"
    assert summary_lines(empty) == ["no history for api in the last week yet"]


# -- the charts -------------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [40, 80, 200])
@pytest.mark.parametrize("height", [4, 5, 10, 20])
@pytest.mark.parametrize("range_name", ["hour", "day", "week"])
def test_every_size_is_exactly_height_lines_of_width_cells(width, height, range_name):
    for points in (chart_columns(width), 7, 500):  # the screen's one per column, a coarser and a finer series
        view = view_for(width, range_name, points)
        for chart in (memory_chart(view, width, height), cpu_chart(view, width, height)):
            lines = lines_of(chart.plain)
            assert len(lines) == height
            assert [cell_len(line) for line in lines] == [width] * height


def test_marks_sit_on_their_rows_and_events_on_their_columns():
    width, height = 80, 10
    view = view_for(width)
    n = chart_columns(width)
    at = fractions(n)
    lines = lines_of(memory_chart(view, width, height).plain)
    # Scale: 512M x 1.1 rounded up to 600M over 9 rows of 66.7M: the maximum is in row 7 from the bottom
    # (line 1), the standard in row 3 (line 5), each labelled in the right margin.
    assert lines[0].startswith(" 600M┤")
    assert lines[8].startswith("    0┤")
    assert lines[1][LEFT + n :].strip() == "max 512M"
    assert lines[5][LEFT + n :].strip() == "std 256M"
    gap = at["oom"] + 1
    assert lines[1][LEFT + gap] == "─" and lines[5][LEFT + gap] == "┄"  # the lines go on through the gap
    # The OOM kill: ✕ on the top row at its column; nowhere else.
    assert lines[0][LEFT + at["oom"]] == "✕" and lines[0].count("✕") == 1
    # Restarts on the time axis: the start after the kill; not the first start, where the line begins.
    axis = lines[-1]
    assert axis[LEFT + at["back"]] == "▲" and axis.count("▲") == 1
    assert axis.startswith("     └")


def test_gaps_are_blank_and_zeros_are_not():
    width = 80
    view = view_for(width)
    n = chart_columns(width)
    at = fractions(n)
    for chart in (memory_chart(view, width, 8), cpu_chart(view, width, 8)):
        lines = lines_of(chart.plain)
        plot = [line[LEFT : LEFT + n] for line in lines[:-1]]
        for c in [*range(at["on"]), *range(at["oom"] + 1, at["back"])]:
            assert not any(row[c] in BLOCKS for row in plot), c
        for c in range(at["back"], n):  # idle (0%) CPU and flat memory: drawn, at least a sliver
            assert plot[-1][c] in BLOCKS, c
    cpu = lines_of(cpu_chart(view, width, 8).plain)
    assert cpu[-2][LEFT + n - 1] == "▁"  # 0% sits on the floor


def test_a_coarse_series_spreads_over_the_columns_instead_of_leaving_gaps():
    width = 200
    view = view_for(width, points=16)  # 16 points for 184 columns
    n = chart_columns(width)
    bottom = lines_of(memory_chart(view, width, 6).plain)[-2][LEFT : LEFT + n]
    at = fractions(16)
    filled = [c for c in range(n) if bottom[c] in BLOCKS]
    per_point = n / 16
    # A column a point only partly covers still shows it: a step of readings is never thinned to a gap.
    first, past = math.floor(at["on"] * per_point), math.ceil((at["oom"] + 1) * per_point)
    assert filled[0] == first
    assert all(bottom[c] in BLOCKS for c in range(first, past))
    assert bottom[past] == " "  # the real gap stays one


def test_the_time_axis_reads_the_clock_of_the_range():
    hour = lines_of(memory_chart(view_for(80), 80, 6).plain)[-1]
    for label in ("09:10", "09:20", "09:30", "09:40", "09:50"):
        assert label in hour
    n = chart_columns(80)
    assert hour.index("09:30") == LEFT + n // 2 - 2  # centred on its time
    day = lines_of(memory_chart(view_for(80, "day"), 80, 6).plain)[-1]
    assert "12:00" in day and "00:00" in day
    week = lines_of(memory_chart(view_for(80, "week"), 80, 6).plain)[-1]
    assert [d for d in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun") if d in week] != []
    assert ":" not in week


def test_the_cpu_chart_marks_the_limit_and_an_empty_chart_says_so():
    view = view_for(80)
    lines = lines_of(cpu_chart(view, 80, 8).plain)
    n = chart_columns(80)
    assert any(line[LEFT + n :].strip() == "max 50%" for line in lines)
    empty = load_view(FakeStore(samples=0), demo_stack(), "api", "hour", n, now=UNTIL)
    blank = HistoryView("api", "hour", Series("skid-demo", "api", UNTIL - 3600, UNTIL, 60.0, 1, (), ()),
                        empty.summary, None, None, None)
    text = memory_chart(blank, 80, 6).plain
    assert "no samples" in text and not BLOCKS & set(text)


def test_screen_sizes_fit_80_by_24():
    width, memory, cpu = chart_sizes(80, 24, numbers_rows=2)
    assert width == 76
    assert memory > cpu >= 4
    assert 2 + 3 + 2 + memory + cpu <= 24


# -- the screen -------------------------------------------------------------------------------------


class Host(App[None]):
    def __init__(self, load) -> None:
        super().__init__()
        self.load = load

    def on_mount(self) -> None:
        self.push_screen(HistoryScreen("api", self.load))


async def settle(app: App, pilot) -> None:
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_the_screen_reads_on_a_thread_switches_ranges_and_closes():
    seen: list[tuple[str, int, bool]] = []

    def load(range_name: str, points: int) -> HistoryView:
        seen.append((range_name, points, threading.current_thread() is threading.main_thread()))
        return load_view(FakeStore(), demo_stack(), "api", range_name, points, now=UNTIL)

    app = Host(load)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        assert seen == [("hour", chart_columns(76), False)]  # one point per column, off the event loop
        numbers = str(screen.query_one("#history-numbers", Static).content)
        assert "p95 480M" in numbers and "1 OOM kill" in numbers
        chart = screen.query_one("#history-memory", Static).content
        assert "max 512M" in chart.plain and "✕" in chart.plain
        assert str(screen.query_one("#history-body").border_title) == "history: api · last hour"

        await pilot.press("2")
        await settle(app, pilot)
        assert seen[-1][0] == "day"
        assert screen.view is not None and screen.view.range_name == "day"
        assert str(screen.query_one("#history-body").border_title) == "history: api · last day"
        await pilot.press("w")
        await settle(app, pilot)
        assert seen[-1][0] == "week"

        await pilot.resize_terminal(120, 30)  # drawn to the new size at once, read again once it settles
        await pilot.pause(0.5)
        await settle(app, pilot)
        assert seen[-1] == ("week", chart_columns(116), False)
        chart = screen.query_one("#history-memory", Static).content
        assert {cell_len(line) for line in chart.plain.split("\n")} == {116}

        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HistoryScreen)


async def test_the_screen_says_it_is_reading_while_the_store_answers():
    release = threading.Event()

    def load(range_name: str, points: int) -> HistoryView:
        release.wait(5)
        return load_view(FakeStore(), demo_stack(), "api", range_name, points, now=UNTIL)

    app = Host(load)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        numbers = app.screen.query_one("#history-numbers", Static)
        assert str(numbers.content) == "reading the last hour of api…"
        assert app.screen.query_one("#history-body").has_class("-stale")
        release.set()
        await settle(app, pilot)
        assert "p95 480M" in str(numbers.content)
        assert not app.screen.query_one("#history-body").has_class("-stale")


async def test_the_screen_says_when_there_is_no_history_and_shows_a_failed_read():
    calls = 0

    def load(range_name: str, points: int) -> HistoryView:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise OSError("database is locked")
        return load_view(FakeStore(samples=0), demo_stack(), "api", range_name, points, now=UNTIL)

    app = Host(load)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        numbers = app.screen.query_one("#history-numbers", Static)
        assert str(numbers.content) == "no history for api in the last hour yet"
        await pilot.press("3")
        await settle(app, pilot)
        assert "could not read the history: database is locked" in str(numbers.content)
