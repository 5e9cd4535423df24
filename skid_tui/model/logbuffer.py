"""A bounded ring of log lines with search and a live filter: what a log pane shows, without the pane.

Lines are numbered by an ever-growing sequence number; the ring keeps the newest `capacity`. A filter
keeps the sequence numbers of matching lines up to date as lines arrive and fall off, so a filtered
pane of a flooding service costs one regex match per new line, not a rescan.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import deque
from collections.abc import Iterable

from skid_tui.engine.logs import LogLine

CAPACITY = 100_000


def compile_pattern(text: str) -> re.Pattern[str]:
    """Case-insensitive; a plain string when it is not a valid regular expression."""
    try:
        return re.compile(text, re.IGNORECASE)
    except re.error:
        return re.compile(re.escape(text), re.IGNORECASE)


class LogBuffer:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self.lines: deque[LogLine] = deque(maxlen=capacity)
        self.total = 0  # lines ever appended; the newest has sequence number total - 1
        self.width = 0  # the longest line kept (for horizontal scrolling)
        self.filter: re.Pattern[str] | None = None
        self._hits: deque[int] = deque()  # sequence numbers of lines matching the filter

    @property
    def first(self) -> int:
        """Sequence number of the oldest line kept."""
        return self.total - len(self.lines)

    def extend(self, lines: Iterable[LogLine]) -> int:
        """Append lines; returns how many arrived."""
        batch = list(lines)
        if not batch:
            return 0
        start = self.total
        self.lines.extend(batch)
        self.total += len(batch)
        longest = max(len(line.text) for line in batch[-self.capacity :])
        self.width = max(self.width, longest)
        if self.filter is not None:
            search = self.filter.search
            first_kept = max(start, self.total - self.capacity)
            offset = len(batch) - (self.total - first_kept)
            self._hits.extend(start + i for i, line in enumerate(batch) if i >= offset and search(line.text))
            first = self.first
            while self._hits and self._hits[0] < first:
                self._hits.popleft()
        return len(batch)

    def clear(self) -> None:
        self.lines.clear()
        self._hits.clear()
        self.width = 0

    # -- the view: every line, or the filtered ones -------------------------------------------------------

    def set_filter(self, pattern: re.Pattern[str] | None) -> None:
        self.filter = pattern
        self._hits.clear()
        if pattern is not None:
            first = self.first
            self._hits.extend(first + i for i, line in enumerate(self.lines) if pattern.search(line.text))

    def view_len(self) -> int:
        return len(self._hits) if self.filter is not None else len(self.lines)

    def view_line(self, row: int) -> LogLine | None:
        """The row-th line of the view (0 = oldest kept)."""
        if self.filter is not None:
            if not 0 <= row < len(self._hits):
                return None
            return self.lines[self._hits[row] - self.first]
        if not 0 <= row < len(self.lines):
            return None
        return self.lines[row]

    def seq_of_row(self, row: int) -> int:
        return self._hits[row] if self.filter is not None else self.first + row

    def row_of_seq(self, seq: int) -> int:
        if self.filter is not None:
            return bisect_left(self._hits, seq)
        return seq - self.first

    # -- search -------------------------------------------------------------------------------------------

    def find(self, pattern: re.Pattern[str], from_seq: int, forward: bool = True) -> int | None:
        """The next (or previous) line matching pattern after (before) from_seq, wrapping; its sequence
        number. Only lines of the current view count."""
        count = self.view_len()
        if count == 0:
            return None
        start = min(max(self.row_of_seq(from_seq), 0), count - 1)
        step = 1 if forward else -1
        for i in range(1, count + 1):
            row = (start + step * i) % count
            line = self.view_line(row)
            if line is not None and pattern.search(line.text):
                return self.seq_of_row(row)
        return None

    def matches(self, pattern: re.Pattern[str]) -> int:
        return sum(1 for line in self.lines if pattern.search(line.text))

    def text(self, timestamps: bool = False) -> str:
        """Every kept line (of the view), for saving to a file."""
        rows = (self.view_line(r) for r in range(self.view_len()))
        return "".join(f"{line.ts} {line.text}\n" if timestamps and line.ts else f"{line.text}\n"
                       for line in rows if line is not None)
