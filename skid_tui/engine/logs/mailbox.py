"""Lines from a reader thread to the one that shows them, coalesced."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from skid_tui.engine.logs.lines import LineBatch, LogLine


class LineMailbox:
    """Lines from a reader thread to one consumer, coalesced: the consumer is woken once, then takes
    everything that arrived until it looked. A flood therefore costs one wake-up per consumer cycle,
    not one per line, and a quiet stream is still delivered at once.

    A reader that gets `limit` lines ahead of a consumer that has not looked yet waits for it (at most
    `patience` seconds, in case the consumer is closing): a log file can be read far faster than a UI takes
    lines in, and a reader racing ahead only piles up memory and takes the UI thread's turns at the GIL.
    """

    def __init__(self, limit: int = 5_000, patience: float = 0.5) -> None:
        self.limit = limit
        self.patience = patience
        self._cond = threading.Condition(threading.Lock())
        self._lines = LineBatch()
        self._waiting = False  # a wake-up is on its way and has not been taken yet
        self._consumer: int | None = None  # the thread that takes: it must never wait for itself

    def put(self, lines: Iterable[LogLine]) -> bool:
        """Store lines; True when the consumer must be woken (no wake-up pending)."""
        with self._cond:
            if self._waiting and len(self._lines) >= self.limit and threading.get_ident() != self._consumer:
                self._cond.wait(self.patience)
            self._lines.extend(lines)
            if self._waiting:
                return False
            self._waiting = True
            return True

    def take(self) -> LineBatch:
        with self._cond:
            self._consumer = threading.get_ident()
            lines, self._lines = self._lines, LineBatch()
            self._waiting = False
            self._cond.notify_all()
            return lines
