"""What watching costs: skid's own CPU and resident memory, for the header (psutil, this process only)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import psutil


@dataclass(frozen=True)
class OwnCost:
    cpu_percent: float | None  # of one core, since the last reading (None at the first)
    rss: int | None


OwnCostSource = Callable[[], OwnCost]


class ProcessCost:
    """Reads /proc/self for each call: a few microseconds, cheap enough for every header refresh."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self._primed = False

    def __call__(self) -> OwnCost:
        try:
            with self.process.oneshot():
                cpu = self.process.cpu_percent(interval=None)
                rss = self.process.memory_info().rss
        except psutil.Error:
            return OwnCost(None, None)
        primed, self._primed = self._primed, True
        return OwnCost(cpu if primed else None, rss)  # the first call's 0.0 measures nothing
