"""Right-sizing: what each service's memory budget should be, from what it really used.

The rule (the README says it too, and `skid rightsize` prints it):
- enough data is ENOUGH_SAMPLES readings in the range (an hour of the service running while skid watched);
  a service with less keeps its budget and says how much it has;
- standard (the reservation) = p95 of memory used x 1.2, rounded up to 16 MiB;
- maximum (the limit) = the larger of max used x 1.3 and standard x 2, rounded up to 16 MiB;
- a service the kernel OOM-killed in the range needed more than it was given: its maximum is at least
  1.5 x the larger of its current maximum and its max used (what it reached was the limit, not its need).

Percentiles are time-weighted over the history's rows (model.series.Summary). Plain data; no Textual, no Rich.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from skid_tui.model.series import Summary
from skid_tui.stack import Stack

MiB = 1024 * 1024
STEP = 16 * MiB
ENOUGH_SAMPLES = 3600  # readings: an hour at one a second
STANDARD_FACTOR = 1.2
MAX_FACTOR = 1.3
OOM_FACTOR = 1.5


def watched_text(samples: int) -> str:
    """Readings (one a second) as time watched."""
    return f"{samples / 3600:.1f} h" if samples >= 360 else f"{samples} s"


def rule_text(needed: int = ENOUGH_SAMPLES) -> str:
    return ("standard = p95 x 1.2, maximum = max(max used x 1.3, standard x 2), both rounded up to 16 MiB; "
            "an OOM-killed service's maximum is at least 1.5 x the larger of its current maximum and max used; "
            f"a service needs {watched_text(needed)} watched in the range")


_SPAN_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_SPAN_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_span(text: str) -> float:
    """Seconds in "7d", "36h", "1w", "2d12h", "90m". Raises ValueError with what was expected."""
    s = text.strip().lower().replace(" ", "")
    parts = _SPAN_PART.findall(s)
    if not s or "".join(n + u for n, u in parts) != s:
        raise ValueError(f"not a time span: {text!r} (expected e.g. 7d, 36h, 1w or 2d12h)")
    seconds = sum(float(n) * _SPAN_UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise ValueError(f"the time span {text!r} is empty")
    return seconds


class SummarySource(Protocol):
    def summary(self, project: str, service: str, since: float, until: float | None = None) -> Summary: ...


def round_up(n: float, step: int = STEP) -> int:
    """Up to the next multiple of `step` (at least one step: a budget of 0 is no budget)."""
    return max(step, math.ceil(n / step) * step)


@dataclass(frozen=True)
class Suggestion:
    service: str
    standard: int | None  # the budget now (compose)
    maximum: int | None
    samples: int
    p95: int | None
    max_used: int | None
    oom_kills: int
    restarts: int
    suggested_standard: int | None  # None: not enough data
    suggested_maximum: int | None
    replicas: int = 1
    needed: int = ENOUGH_SAMPLES  # readings this suggestion asked for

    @property
    def enough(self) -> bool:
        return self.suggested_standard is not None

    @property
    def changed(self) -> bool:
        return self.enough and (self.suggested_standard, self.suggested_maximum) != (self.standard, self.maximum)

    @property
    def why(self) -> str:
        """One short reason for the suggestion, or what is missing."""
        if not self.enough:
            return f"not enough data: {watched_text(self.samples)} watched of the {watched_text(self.needed)} needed"
        if self.oom_kills:
            return f"OOM-killed {self.oom_kills}x: at least 1.5 x what it had"
        return "p95 and max used"


def suggest(summary: Summary, standard: int | None, maximum: int | None, replicas: int = 1,
            needed: int = ENOUGH_SAMPLES) -> Suggestion:
    """The rule applied to one service's summary."""
    base = Suggestion(summary.service, standard, maximum, summary.samples, summary.mem_p95, summary.mem_max,
                      summary.oom_kills, summary.restarts, None, None, replicas, needed)
    if summary.samples < needed or summary.mem_p95 is None or summary.mem_max is None:
        return base
    std = round_up(summary.mem_p95 * STANDARD_FACTOR)
    mx = round_up(max(summary.mem_max * MAX_FACTOR, std * 2))
    if summary.oom_kills:
        mx = max(mx, round_up(max(maximum or 0, summary.mem_max) * OOM_FACTOR))
    return Suggestion(**{**asdict(base), "suggested_standard": std, "suggested_maximum": mx})


@dataclass(frozen=True)
class ProfileTotals:
    """A profile's memory budget (every member at its standard, and at its maximum), now and suggested."""

    profile: str
    standard_now: int
    maximum_now: int
    standard_after: int
    maximum_after: int
    host_budget: int


@dataclass(frozen=True)
class Rightsizing:
    since: float
    until: float
    suggestions: tuple[Suggestion, ...]
    profiles: tuple[ProfileTotals, ...]
    needed: int = ENOUGH_SAMPLES

    @property
    def rule(self) -> str:
        return rule_text(self.needed)

    def to_json(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "until": self.until,
            "rule": self.rule,
            "enough_samples": self.needed,
            "services": [{**asdict(s), "enough": s.enough, "why": s.why} for s in self.suggestions],
            "profiles": [asdict(p) for p in self.profiles],
        }


def _totals(stack: Stack, suggestions: dict[str, Suggestion]) -> Iterable[ProfileTotals]:
    for profile in stack.profiles.values():
        std_now = max_now = std_after = max_after = 0
        for name in profile.services:
            spec = stack.services.get(name)
            if spec is None:
                continue
            s = suggestions.get(name)
            now_std, now_max = spec.standard_total, spec.maximum_total
            std_now += now_std
            max_now += now_max
            if s is not None and s.enough:
                std_after += (s.suggested_standard or 0) * spec.replicas
                max_after += (s.suggested_maximum or 0) * spec.replicas
            else:
                std_after += now_std
                max_after += now_max
        yield ProfileTotals(profile.name, std_now, max_now, std_after, max_after, profile.host_budget)


def rightsize(store: SummarySource, stack: Stack, since_seconds: float, now: float | None = None,
              needed: int = ENOUGH_SAMPLES) -> Rightsizing:
    """Every service of the stack: its budget now, what it used over the last `since_seconds`, the rule's
    suggestion (for services with at least `needed` readings); and every profile's totals before and after."""
    until = time.time() if now is None else now
    since = until - since_seconds
    suggestions: dict[str, Suggestion] = {}
    for name, spec in stack.services.items():
        if spec.provider is not None:
            continue  # no container: nothing used, nothing to size
        summary = store.summary(stack.project, name, since, until)
        suggestions[name] = suggest(summary, spec.budget.mem_standard, spec.budget.mem_max, spec.replicas, needed)
    return Rightsizing(since, until, tuple(suggestions.values()), tuple(_totals(stack, suggestions)), needed)


def override_services(result: Rightsizing) -> dict[str, tuple[int, int]]:
    """service -> (standard, maximum) for every service with a suggestion that changes its budget."""
    return {s.service: (s.suggested_standard, s.suggested_maximum) for s in result.suggestions
            if s.changed and s.suggested_standard is not None and s.suggested_maximum is not None}
