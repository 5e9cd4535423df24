"""`h`: a service's history over the last hour, day or week, with its budget beside it.

What both front ends show: the series and the summary read from the history store, and the marks to hold
them against (the compose standard and maximum, the CPU limit). The dashboard draws it (ui.screens.history);
`summary_lines` is the same numbers as plain text for a command. Plain data; no Textual, no Rich.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from skid_tui.model.series import Series, Summary
from skid_tui.safe_text import visible
from skid_tui.stack import Stack
from skid_tui.stack.sizes import compact_bytes

RANGES = {"hour": 3600, "day": 86400, "week": 7 * 86400}  # seconds back from now
RANGE_WORDS = {"hour": "last hour", "day": "last day", "week": "last week"}


class HistorySource(Protocol):
    """What load_view needs of the history store (model.history.HistoryStore): a fake in tests."""

    def summary(self, project: str, service: str, since: float, until: float | None = None) -> Summary: ...

    def series(self, project: str, service: str, since: float, until: float | None = None,
               points: int = 120) -> Series: ...


@dataclass(frozen=True)
class HistoryView:
    """One service over one range, with the budget it ran under.

    The budget is per container, as compose applies it (and as the store's readings are): `standard` and
    `maximum` in bytes, `cpu_limit` in CPUs (0.5 is half of one core, 50% on the CPU chart).
    """

    service: str
    range_name: str
    series: Series
    summary: Summary
    standard: int | None
    maximum: int | None
    cpu_limit: float | None

    @property
    def range_words(self) -> str:
        return RANGE_WORDS.get(self.range_name, self.range_name)


def load_view(store: HistorySource, stack: Stack, service: str, range_name: str, points: int, *,
              now: float | None = None) -> HistoryView:
    """The service's series (at most `points` steps) and summary over the range ending now. Blocking: the
    store reads SQLite, so the dashboard calls this on a worker thread."""
    if range_name not in RANGES:
        raise ValueError(f"unknown range {range_name!r} (expected one of {', '.join(RANGES)})")
    until = time.time() if now is None else now
    since = until - RANGES[range_name]
    series = store.series(stack.project, service, since, until, points=max(1, points))
    summary = store.summary(stack.project, service, since, until)
    spec = stack.services.get(service)
    budget = spec.budget if spec is not None else None  # a service gone from the compose file keeps its past
    return HistoryView(
        service=service,
        range_name=range_name,
        series=series,
        summary=summary,
        standard=budget.mem_standard if budget else None,
        maximum=budget.mem_max if budget else None,
        cpu_limit=budget.cpus_limit if budget else None,
    )


def percent(value: float | None) -> str:
    """CPU as a percent of one core: a decimal below 10% (an idle service's 0.4% is not 0%), whole above."""
    if value is None:
        return "-"
    return f"{value:.1f}%" if value < 10 else f"{value:.0f}%"


def _size(value: int | None) -> str:
    return "-" if value is None else compact_bytes(value)


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def no_history(view: HistoryView) -> str:
    return f"no history for {visible(view.service)} in the {view.range_words} yet"


def memory_numbers(s: Summary) -> str:
    return f"p50 {_size(s.mem_p50)} p95 {_size(s.mem_p95)} p99 {_size(s.mem_p99)} max {_size(s.mem_max)}"


def cpu_numbers(s: Summary) -> str:
    return f"p50 {percent(s.cpu_p50)} p95 {percent(s.cpu_p95)} p99 {percent(s.cpu_p99)} max {percent(s.cpu_max)}"


def events_numbers(s: Summary) -> str:
    return f"{_count(s.oom_kills, 'OOM kill')} · {_count(s.restarts, 'restart')} · {_count(s.samples, 'sample')}"


def numbers_line(view: HistoryView) -> str:
    """The range in one line (the dashboard's, under the charts)."""
    s = view.summary
    if s.samples == 0:
        return no_history(view)
    return f"memory {memory_numbers(s)} · cpu {cpu_numbers(s)} · {events_numbers(s)}"


def summary_lines(view: HistoryView) -> list[str]:
    """The range as a few lines of plain text, for a command: the numbers, then the budget they ran under."""
    s = view.summary
    if s.samples == 0:
        return [no_history(view)]
    budget = f"standard {_size(view.standard)}, maximum {_size(view.maximum)}"
    limit = "no limit" if view.cpu_limit is None else f"limit {percent(view.cpu_limit * 100)}"
    return [
        f"{visible(view.service)} · {view.range_words}",
        f"memory  {memory_numbers(s)}  ({budget})",
        f"cpu     {cpu_numbers(s)}  ({limit})",
        events_numbers(s),
    ]
