"""Text gauges drawn with characters, not widgets: a memory ruler with budget marks, sparklines, rates.

Pure functions returning plain strings or Rich Text; a panel draws its whole body as one Text, which is
far cheaper to repaint than a tree of ProgressBar and Sparkline widgets.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from skid_tui.stack.sizes import compact_bytes, compact_rate

__all__ = ["SparkMemo", "compact_bytes", "compact_rate", "memory_ruler_cells", "percent", "ruler_scale",
           "sparkline"]

SPARKS = "▁▂▃▄▅▆▇█"
_TOP_LEVEL = len(SPARKS) - 1


def _spark(v: float, top: float) -> str:
    return SPARKS[min(_TOP_LEVEL, max(0, round(v / top * _TOP_LEVEL)))]


def sparkline(values: Sequence[float], width: int, top: float) -> str:
    """The last `width` values as blocks, scaled to 0..top (not to the series' own min-max, so a flat
    series stays flat instead of looking like noise). Pads on the left while history is short."""
    if width <= 0:
        return ""
    if top <= 0:
        top = max(values, default=0.0) or 1.0
    tail = list(values)[-width:]
    return " " * (width - len(tail)) + "".join([_spark(v, top) for v in tail])


class SparkMemo:
    """Sparklines drawn a cell at a time: a series that moved on by one reading since it was last drawn (at
    the same width and scale) is the last text shifted by one cell, not 60 cells worked out again. Every
    panel draws two each second; this is what keeps a steady dashboard's second cheap.

    The memo checks the old series against the new one, so a stale or foreign entry is never used.
    """

    LIMIT = 4096  # entries; past it the memo starts afresh (stacks come and go in one process's tests)

    def __init__(self) -> None:
        self._last: dict[object, tuple[tuple[float, ...], int, float, str]] = {}

    def draw(self, key: object, values: tuple[float, ...], width: int, top: float) -> str:
        """sparkline(values, width, top), from the entry under `key` when that is one reading behind."""
        if width <= 0 or top <= 0:
            return sparkline(values, width, top)
        last = self._last.get(key)
        text = None
        if last is not None and last[1] == width and last[2] == top:
            old, before = last[0], last[3]
            n = len(values)
            if values == old:
                return before
            # Grown by one (the pad, or the oldest cell past the width, gives way), or slid by one with
            # at least a full width of readings (else the oldest reading is inside the text, not its edge).
            if n and ((n == len(old) + 1 and values[:-1] == old)
                      or (n == len(old) and n >= width and values[:-1] == old[1:])):
                text = before[1:] + _spark(values[-1], top)
        if text is None:
            text = sparkline(values, width, top)
        if len(self._last) >= self.LIMIT:
            self._last.clear()
        self._last[key] = (values, width, top, text)
        return text


def percent(value: float | None) -> str:
    """Whole percents: a glance needs no more, and the jitter of an idle service does not repaint it
    (`skid monitor --json` keeps the exact value)."""
    if value is None:
        return "…"
    return f"{value:.0f}%"


def ruler_scale(used: int | None, standard: int | None, maximum: int | None, peak: int | None) -> int:
    """What the full width of the memory ruler stands for: the maximum, else room above what was seen."""
    if maximum:
        return max(maximum, used or 0)
    seen = max(used or 0, peak or 0, standard or 0)
    return max(int(seen * 1.25), standard * 2 if standard else 0, 1)


def memory_ruler_cells(width: int, filled: int, std_at: int | None, max_at: int | None, style: str) -> Text:
    """━━━━━━━━━╋─────────┫ : `filled` cells, ╋ at the standard allocation, ┫ at the maximum.

    Built from runs, not a span per cell: this is drawn for every panel on every change.
    """
    text = Text()
    marks = {i: ("┫", "bold red" if i < filled else "red") for i in (max_at,) if i is not None}
    if std_at is not None and std_at != max_at:
        marks[std_at] = ("╋", "bold yellow")
    pos = 0
    for at in [*sorted(marks), width]:
        if at > pos:
            cut = min(max(filled, pos), at)
            if cut > pos:
                text.append("━" * (cut - pos), style=style)
            if at > cut:
                text.append("─" * (at - cut), style="grey35")
        if at < width:
            char, mark_style = marks[at]
            text.append(char, style=mark_style)
        pos = at + 1
    return text
