"""The history screen's charts, drawn with characters as Rich Text (like ui.gauges), not a plotting widget:
no dependency, the same cells in every terminal and every SVG screenshot, and any size from 40x4 up.

    600M┤                                 ✕
        │─────────────────────────────▂▄▅▆▇▇─────────────────────── max 512M
        │                       ▁▂▄▅▆███████
    300M┤                  ▁▄▅▆█████████████
        │┄┄┄┄┄┄┄┄┄┄┄┄▁▃▄▅▇██████████████████┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄ std 256M
        │       ▂▃▅▇████████████████████████   ▆▆▆▆▆▆▆▆▆▆▆▆▆▆▆▆▆▆▆▂
        │    ▆▇█████████████████████████████   ████████████████████
       0┤    ███████████████████████████████   ████████████████████
        └09:00──09:10─────09:20─────09:30──────▲09:40──09:50──10:00

Each column is a time step: an area up to the step's peak, in the solid colour as high as its average
reaches and the darker one above; green under the standard, yellow over it, red at the maximum. A step
without readings (the service was off) is blank: a gap, never a zero. ✕ on the top row is an OOM kill,
▲ on the axis a restart. Pure functions of the view: times come from the series, never from the clock.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from rich.text import Text

from skid_tui.model.series import Point, Series
from skid_tui.ops.history import HistoryView, percent
from skid_tui.stack.sizes import GIB, KIB, MIB, compact_bytes

__all__ = ["CPU_LEGEND", "LEFT", "MEMORY_LEGEND", "RIGHT", "chart_columns", "cpu_chart", "memory_chart"]

LEFT = 6  # the y axis: a label of 5 cells, then the axis line
RIGHT = 10  # the marks' labels: a space, then "std 1023M"
NARROW = 40  # below this the marks' labels give their room to the plot
HEADROOM = 1.1  # the top of the scale is 10% above the highest thing drawn, then rounded to a readable value
CPU_FLOOR = 5.0  # percent: an idle service's 0.3% does not fill the chart and look busy
EIGHTHS = "▁▂▃▄▅▆▇█"
_NICE = (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10)
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # not %a: the same in every locale
_CLOCK_STEPS = (60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 14400, 21600, 43200, 86400)
_DAY_STEPS = (1, 2, 7)  # days between weekday labels
_EPS = 1e-6  # a column edge computed in floating point is still that edge

Cell = tuple[str, str]  # character, style
Column = tuple[float, float] | None  # (average, peak) of the readings in a column, None for a gap


@dataclass(frozen=True)
class Palette:
    solid: str  # the area up to the average
    band: str  # from the average up to the peak


MEMORY = Palette("green", "dark_green")
CPU = Palette("cyan", "dark_cyan")
OVER_STANDARD = Palette("yellow", "yellow4")
AT_MAXIMUM = Palette("red", "dark_red")
AXIS = "grey50"
OOM = "bold red"
RESTART = "bold yellow"


@dataclass(frozen=True)
class MarkLine:
    """A horizontal line across the chart at a budget value, labelled in the right margin."""

    kind: Literal["standard", "maximum"]
    value: float
    label: str
    char: str
    style: str


def _legend(title: str, palette: Palette, items: list[tuple[str, str, str]], note: str = "") -> Text:
    """A chart's heading: its name and what each colour and mark means."""
    text = Text.assemble((title, "bold"), "  ", ("█", palette.solid), " average  ", ("█", palette.band), " peak")
    for char, style, words in items:
        text.append("  ")
        text.append(char, style=style)
        text.append(f" {words}")
    if note:
        text.append(f"  {note}", style="dim")
    return text


MEMORY_LEGEND = _legend("memory", MEMORY, [("┄", "yellow", "standard"), ("─", "red", "maximum"),
                                           ("✕", OOM, "OOM kill"), ("▲", RESTART, "restart")])
CPU_LEGEND = _legend("cpu", CPU, [("─", "red", "limit")], note="% of one core")


def chart_columns(width: int) -> int:
    """The plot's columns in a chart `width` cells wide: the screen asks the store for one point per column."""
    return max(1, width - LEFT - (RIGHT if width >= NARROW else 0))


def memory_chart(view: HistoryView, width: int, height: int) -> Text:
    """Memory used over the range against the standard (yellow dotted) and the maximum (red)."""
    lines = []
    if view.standard:
        lines.append(MarkLine("standard", view.standard, f"std {compact_bytes(view.standard)}", "┄", "yellow"))
    if view.maximum:
        lines.append(MarkLine("maximum", view.maximum, f"max {compact_bytes(view.maximum)}", "─", "red"))
    return _chart(view.series, width, height, MEMORY_MEASURE, lines)


def cpu_chart(view: HistoryView, width: int, height: int) -> Text:
    """CPU over the range in percent of one core, against the CPU limit (red)."""
    lines = []
    if view.cpu_limit:
        limit = view.cpu_limit * 100
        lines.append(MarkLine("maximum", limit, f"max {percent(limit)}", "─", "red"))
    return _chart(view.series, width, height, CPU_MEASURE, lines)


def _memory(p: Point) -> Column:
    return (p.mem_avg, float(max(p.mem_max, p.mem_avg)))


def _cpu(p: Point) -> Column:
    if p.cpu_avg is None:
        return None  # readings without a CPU figure yet (the first of a container): a gap on this chart only
    return (p.cpu_avg, max(p.cpu_max if p.cpu_max is not None else p.cpu_avg, p.cpu_avg))


def _byte_label(v: float) -> str:
    return "0" if v <= 0 else compact_bytes(v)


def _percent_label(v: float) -> str:
    return "0" if v <= 0 else percent(v)


def _nice(x: float) -> float:
    """The smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 x 10^k at or above x: axis labels people can read."""
    if x <= 0:
        return 1.0
    magnitude = 10.0 ** math.floor(math.log10(x))
    return next(f * magnitude for f in _NICE if f * magnitude >= x * (1 - 1e-9))


def _nice_bytes(x: float) -> float:
    """_nice in the unit compact_bytes will print (600M, 1.2G), so the top label is round as shown."""
    unit = next((u for u in (GIB, MIB, KIB) if x >= u), 1)
    return _nice(x / unit) * unit


@dataclass(frozen=True)
class Measure:
    """What a chart plots of each point, how its axis reads, and its colours."""

    value: Callable[[Point], Column]
    label: Callable[[float], str]
    nice: Callable[[float], float]
    palette: Palette
    floor: float  # the lowest top of the scale


MEMORY_MEASURE = Measure(_memory, _byte_label, _nice_bytes, MEMORY, 0.0)
CPU_MEASURE = Measure(_cpu, _percent_label, _nice, CPU, CPU_FLOOR)


# -- the columns ------------------------------------------------------------------------------------


def _columns(series: Series, n: int, value: Callable[[Point], Column]) -> list[Column]:
    """The series' points gathered into n columns of equal time: the readings' weighted average and the
    highest peak. A point covers [at, at + step), so a coarser series spreads over the columns it spans and a
    finer one is merged, and a column no point with readings touches is a gap."""
    span = series.until - series.since
    if span <= 0 or n <= 0:
        return [None] * max(n, 0)
    width = span / n
    sums, weights = [0.0] * n, [0] * n
    peaks: list[float | None] = [None] * n
    for p in series.points:
        if p.samples <= 0:
            continue
        got = value(p)
        if got is None:
            continue
        avg, peak = got
        first = max(0, math.floor((p.at - series.since) / width + _EPS))
        last = min(n - 1, max(first, math.ceil((p.at + series.step - series.since) / width - _EPS) - 1))
        for c in range(first, last + 1):
            sums[c] += avg * p.samples
            weights[c] += p.samples
            top = peaks[c]
            peaks[c] = peak if top is None else max(top, peak)
    out: list[Column] = []
    for c in range(n):
        top = peaks[c]
        out.append(None if top is None or not weights[c] else (sums[c] / weights[c], top))
    return out


def _column_at(series: Series, n: int, at: float) -> int | None:
    span = series.until - series.since
    if span <= 0 or not series.since <= at <= series.until:
        return None
    return min(n - 1, math.floor((at - series.since) / span * n))


def _restart_columns(series: Series, n: int, present: Sequence[bool]) -> set[int]:
    """Where a start follows readings in the range. The first start of a service that had none before it is
    where its line begins, which the chart shows already; a ▲ there would say "restart" of a plain start."""
    out = set()
    for mark in series.marks:
        if mark.kind != "start":
            continue
        col = _column_at(series, n, mark.at)
        if col is not None and any(present[:col]):
            out.add(col)
    return out


def _oom_columns(series: Series, n: int) -> set[int]:
    cols = (_column_at(series, n, m.at) for m in series.marks if m.kind == "oom")
    return {c for c in cols if c is not None}


# -- the time axis ------------------------------------------------------------------------------------


def _ticks(since: float, until: float, columns: int) -> list[tuple[float, str]]:
    """Times to label and their labels: HH:MM at round local times for a day or less, weekdays at local noon
    (the middle of the day they name) for longer; as many as fit with room between them."""
    span = until - since
    if span <= 0:
        return []
    if span > 2 * 86400:
        for days in _DAY_STEPS:
            if days * 86400 / span * columns >= len("Mon") + 2:
                return _noons(since, until, days)
        return []
    for step in _CLOCK_STEPS:
        if step / span * columns >= len("00:00") + 3:
            return _clock_times(since, until, step)
    return []


def _clock_times(since: float, until: float, step: int) -> list[tuple[float, str]]:
    start = datetime.fromtimestamp(since)
    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    k = math.ceil((start - midnight).total_seconds() / step)
    out = []
    while True:
        at = midnight + timedelta(seconds=k * step)  # local wall time, so 14:00 is 14:00 across a DST change
        t = at.timestamp()
        if t > until:
            return out
        out.append((t, f"{at:%H:%M}"))
        k += 1


def _noons(since: float, until: float, days: int) -> list[tuple[float, str]]:
    day = datetime.fromtimestamp(since).date()
    out = []
    while True:
        noon = datetime(day.year, day.month, day.day, 12)
        t = noon.timestamp()
        if t > until:
            return out
        if t >= since and day.toordinal() % days == 0:  # every other day on the same days whatever the range
            out.append((t, _WEEKDAYS[day.weekday()]))
        day += timedelta(days=1)


def _axis_cells(series: Series, n: int, restarts: set[int]) -> list[Cell]:
    """The x axis: a line with ▲ at restarts and time labels centred on their times, where they fit
    without covering a ▲ or touching another label."""
    cells: list[Cell] = [("─", AXIS)] * n
    for c in restarts:
        cells[c] = ("▲", RESTART)
    taken = set(restarts)
    span = series.until - series.since
    for t, label in _ticks(series.since, series.until, n):
        col = min(n - 1, math.floor((t - series.since) / span * n))
        centred = col - len(label) // 2
        # Centred on its time if it can be; else nudged off a ▲ (at most until it ends or starts beside its
        # time), else left out.
        half = len(label) // 2 + 1
        for start in (centred + d for k in range(half + 1) for d in dict.fromkeys((-k, k))):
            room = range(start - 1, start + len(label) + 1)  # a cell of line between two labels
            if 0 <= start <= n - len(label) and not any(c in taken for c in room if c not in restarts) \
                    and not any(c in restarts for c in room[1:-1]):
                break
        else:
            continue
        taken.update(room)
        for i, ch in enumerate(label):
            cells[start + i] = (ch, AXIS)
    return cells


# -- the plot ----------------------------------------------------------------------------------------


def _zone(value: float, lines: Sequence[MarkLine], base: Palette) -> Palette:
    """The chart's colour under the standard, yellow over it, red at the maximum."""
    std = next((m.value for m in lines if m.kind == "standard"), None)
    top = next((m.value for m in lines if m.kind == "maximum"), None)
    if top is not None and value >= top:
        return AT_MAXIMUM
    if std is not None and value > std:
        return OVER_STANDARD
    return base


def _data_cell(row: int, column: tuple[float, float], unit: float, lines: Sequence[MarkLine],
               base: Palette) -> Cell | None:
    """The cell `row` rows up of a column with readings: full, partly filled, or empty (None).

    The outline is the peak, in eighths of a cell; the solid colour fills the rows the average reaches, the
    darker one the rest (a cell, not an eighth: one cell cannot hold two heights and stay readable as text).
    The bottom row always shows something, so a column of zeros (an idle CPU) is never taken for a gap.
    """
    avg, peak = column[0] / unit, column[1] / unit
    if peak >= row + 1:
        zone = _zone((row + 1) * unit, lines, base)
        return "█", zone.solid if avg > row else zone.band
    k = min(8, round((peak - row) * 8)) if peak > row else 0
    if k == 0 and row == 0:
        k = 1
    if k == 0:
        return None
    zone = _zone(column[1], lines, base)
    return EIGHTHS[k - 1], zone.solid if avg > row or row == 0 else zone.band


def _row_of(value: float, unit: float, rows: int) -> int:
    return max(0, min(rows - 1, math.floor(value / unit)))


def _chart(series: Series, width: int, height: int, measure: Measure, lines: list[MarkLine]) -> Text:
    base, label = measure.palette, measure.label
    n = chart_columns(width)
    right = RIGHT if width >= NARROW else 0
    rows = max(1, height - 1)
    columns = _columns(series, n, measure.value)
    present = [c is not None for c in _columns(series, n, lambda p: (0.0, 0.0))]
    seen = max((c[1] for c in columns if c is not None), default=0.0)
    raw = max([seen, measure.floor / HEADROOM, *(m.value for m in lines)])
    top = measure.nice(raw * HEADROOM) if raw > 0 else 1.0
    unit = top / rows

    # The marks' rows. When both fall in one row the maximum's line is drawn and the standard's label moves
    # one row down: at this height they are the same line, and both numbers still show.
    line_at: dict[int, MarkLine] = {}
    label_at: dict[int, MarkLine] = {}
    for m in sorted(lines, key=lambda m: m.kind == "maximum", reverse=True):
        r = _row_of(m.value, unit, rows)
        line_at.setdefault(r, m)
        at = r if r not in label_at else r - 1
        if at >= 0 and at not in label_at:
            label_at[at] = m
    y_labels = {0: "0", rows - 1: label(top)}
    if rows >= 5:
        y_labels[_row_of(top / 2, unit, rows)] = label(top / 2)
    ooms = _oom_columns(series, n)
    restarts = _restart_columns(series, n, present)

    plot: list[list[Cell]] = []
    for row in range(rows - 1, -1, -1):
        mark = line_at.get(row)
        blank: Cell = (mark.char, mark.style) if mark else (" ", "")
        cells: list[Cell] = []
        for c, col in enumerate(columns):
            cell = _data_cell(row, col, unit, lines, base) if col is not None else None
            if row == rows - 1 and c in ooms:
                cell = ("✕", OOM)  # on the top row: the kill came at the top of what it could have
            cells.append(cell or blank)
        plot.append(cells)
    if not any(present):
        _say(plot[(rows - 1) // 2], "no samples")

    out: list[Text] = []
    for i, cells in enumerate(plot):
        row = rows - 1 - i
        y = y_labels.get(row, "")
        tag = label_at.get(row)
        edge = [(" " + (tag.label if tag else "").ljust(right - 1)[: right - 1], tag.style if tag else "")]
        out.append(_runs([(y[: LEFT - 1].rjust(LEFT - 1), AXIS), ("┤" if y else "│", AXIS), *cells,
                          *(edge if right else [])], width))
    out.append(_runs([(" " * (LEFT - 1) + "└", AXIS), *_axis_cells(series, n, restarts), (" " * right, "")], width))
    return Text("\n").join(out[-height:] if height > 0 else [])


def _runs(cells: Sequence[Cell], width: int) -> Text:
    """One line from cells, a span per run of one style (not per cell), cut or padded to exactly `width`."""
    text = Text(no_wrap=True, overflow="crop")
    run: list[str] = []
    style = ""
    for ch, st in cells:
        if st != style and run:
            text.append("".join(run), style=style or None)
            run = []
        run.append(ch)
        style = st
    if run:
        text.append("".join(run), style=style or None)
    text.truncate(width, overflow="crop", pad=True)
    return text


def _say(cells: list[Cell], words: str) -> None:
    """`words` centred on a row of an empty chart's plot (the marks still show where they would be)."""
    said = f" {words} "
    if len(said) > len(cells):
        return
    at = (len(cells) - len(said)) // 2
    cells[at : at + len(said)] = [(ch, "dim") for ch in said]
