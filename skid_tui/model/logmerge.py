"""The stack's logs as one stream (`A`, `skid logs --all`): every service's lines in time order, each with its
service's name in a colour of its own, as `docker compose logs -f` prints them.

Followers (one per service, on their own threads) `add()` batches; the reader `take()`s what is ready:
- at first, until every service followed has delivered its history (or HISTORY_WAIT has passed), nothing,
  so that the histories are merged by timestamp, not shown one service after another;
- then, on each take, what came since, sorted by timestamp (lines from one service keep their order).
A flood from one service is cut to its last FLOOD_QUOTA lines per take, with a note saying how many were
skipped, so the other services' lines still show in a bounded pane.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence

from skid_tui.engine.logs import LineKind, LogLine, ts_key

HISTORY_WAIT = 1.5  # seconds the first take waits for every service's history
FLOOD_QUOTA = 2000  # lines of one service per take; the rest of a flood is skipped, said in a note
# Service colours (SGR foreground), stable by the service's place in the stack: the log view draws SGR as colour.
PALETTE = (36, 33, 32, 35, 34, 31, 96, 93, 92, 95, 94, 91)


def service_colour(index: int) -> int:
    return PALETTE[index % len(PALETTE)]


class LogMerger:
    def __init__(self, services: Sequence[str], *, clock: Callable[[], float] = time.monotonic,
                 history_wait: float = HISTORY_WAIT, quota: int = FLOOD_QUOTA, colour: bool = True) -> None:
        self.services = list(services)
        self.width = max((len(s) for s in services), default=0)
        self._colour = {s: service_colour(i) for i, s in enumerate(services)}
        self._clock = clock
        self._opened = clock()
        self._history_wait = history_wait
        self._quota = quota
        self._colour_on = colour  # off for piped output: plain "service | " prefixes
        self._lock = threading.Lock()
        self._pending: dict[str, list[LogLine]] = {}
        self._heard: set[str] = set()  # services that delivered their history (or said they have none)
        self._expected: set[str] = set()  # services followed now
        self._released = False

    def follow(self, service: str) -> None:
        """A follower for the service started: the first take waits for its history too."""
        with self._lock:
            self._expected.add(service)
            if service not in self._colour:
                self._colour[service] = service_colour(len(self._colour))
                self.width = max(self.width, len(service))

    def add(self, service: str, lines: Iterable[LogLine]) -> None:
        """From a follower's thread."""
        with self._lock:
            self._pending.setdefault(service, []).extend(lines)
            self._heard.add(service)

    def heard(self, service: str) -> None:
        """The service has nothing to deliver (no container): the first take does not wait for it."""
        with self._lock:
            self._heard.add(service)

    def ready(self) -> bool:
        with self._lock:
            return self._ready()

    def _ready(self) -> bool:
        if not self._released:
            if not (self._expected <= self._heard or self._clock() - self._opened >= self._history_wait):
                return False
            self._released = True
        return any(self._pending.values())

    def take(self) -> list[LogLine]:
        """What is ready, merged: prefixed, in time order; [] while the histories are awaited."""
        with self._lock:
            if not self._ready():
                return []
            pending, self._pending = self._pending, {}
        merged: list[tuple[str, int, int, LogLine]] = []
        order = 0
        for service, got in pending.items():
            skipped = max(0, len(got) - self._quota)
            kept = got[skipped:]
            if skipped:
                kept.insert(0, LogLine(kept[0].ts, f"… {skipped:,} lines of {service} skipped here: it floods (its "
                                                   "own pane, l on its panel, has them all)", LineKind.NOTE))
            last = ""
            for line in kept:
                # A note has no time of its own: it stays after the line before it.
                key = ts_key(line.ts) if line.ts else last
                last = key
                merged.append((key, order, 0, self._prefixed(service, line)))
                order += 1
        merged.sort(key=lambda item: (item[0], item[1]))
        return [item[3] for item in merged]

    def prefix(self, service: str) -> str:
        if not self._colour_on:
            return f"{service.ljust(self.width)} | "
        return f"\x1b[{self._colour.get(service, 37)}m{service.ljust(self.width)}\x1b[0m | "

    def _prefixed(self, service: str, line: LogLine) -> LogLine:
        return LogLine(line.ts, self.prefix(service) + line.text, line.stream)
