"""What the history store gives back: plain frozen data, shared by the store (model.history), right-sizing
(ops.rightsize), the exports and the two front ends' history views. No SQLite, no Textual here.

Times are unix seconds (wall clock): history outlives the process, unlike the live model's monotonic times.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MarkKind = Literal["oom", "start"]


@dataclass(frozen=True)
class Reading:
    """One sample of one container, as the live model applied it."""

    project: str
    service: str
    container: str  # the full container id
    at: float  # unix seconds
    mem_bytes: int
    cpu_percent: float | None
    net_rx_bps: float | None = None
    net_tx_bps: float | None = None
    pids: int | None = None


@dataclass(frozen=True)
class Mark:
    """Something that happened to a container at a time: an OOM kill or a (re)start.

    `key` makes the mark the same in every process that sees it (the kernel's OOM counter value, the
    container's StartedAt), so two skids watching one stack record it once.
    """

    project: str
    service: str
    container: str
    at: float
    kind: MarkKind
    key: str


@dataclass(frozen=True)
class Point:
    """One drawn step of a series: the samples in [at, at + step) of every container of the service."""

    at: float
    mem_avg: float
    mem_max: int
    cpu_avg: float | None
    cpu_max: float | None
    samples: int


@dataclass(frozen=True)
class Series:
    """A service's history over a range, at most `points` steps of `step` seconds each."""

    project: str
    service: str
    since: float
    until: float
    step: float  # seconds per point
    resolution: int  # the stored resolution the points were read from (1, 60 or 900 s)
    points: tuple[Point, ...]
    marks: tuple[Mark, ...]


@dataclass(frozen=True)
class Summary:
    """A service's numbers over a range: time-weighted percentiles, the maximum, and what happened.

    Percentiles weigh each stored row by its sample count and take its mean (a 1-minute rollup of 60
    samples counts as 60 samples at its mean); maxima are the true maxima (each rollup keeps its own).
    """

    project: str
    service: str
    since: float
    until: float
    samples: int  # readings in the range (about the seconds it ran and was watched)
    mem_p50: int | None
    mem_p95: int | None
    mem_p99: int | None
    mem_max: int | None
    cpu_p50: float | None
    cpu_p95: float | None
    cpu_p99: float | None
    cpu_max: float | None
    oom_kills: int
    restarts: int
    first_at: float | None  # the oldest reading in the range
    last_at: float | None
