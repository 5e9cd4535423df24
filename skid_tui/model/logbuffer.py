"""A bounded ring of log lines with search and a live filter: what a log pane shows, without the pane.

Lines are numbered by an ever-growing sequence number; the ring keeps the newest `capacity`. A filter
keeps the sequence numbers of matching lines up to date as lines arrive and fall off, so a filtered
pane of a flooding service costs one regex match per new line, not a rescan.

The ring stores columns (timestamps, texts, streams) in sealed chunks of CHUNK lines: tuples of strings
and bytes, which the garbage collector stops looking into once it has seen them. A flood's batch goes in
as a few slices, and a full collection does not walk 100,000 kept lines (with an object, or a deque slot,
per line it did: about 10 ms of the UI thread each time, several times that on a busy 2-core machine).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain, islice
from typing import overload

from skid_tui.engine.logs import LineBatch, LogLine

CAPACITY = 100_000
CHUNK = 4096  # lines per sealed chunk of the ring


def compile_pattern(text: str) -> re.Pattern[str]:
    """Case-insensitive; a plain string when it is not a valid regular expression."""
    try:
        return re.compile(text, re.IGNORECASE)
    except re.error:
        return re.compile(re.escape(text), re.IGNORECASE)


class KeptLines(Sequence[LogLine]):
    """The lines a LogBuffer keeps, oldest first, as LogLines (made when looked at)."""

    __slots__ = ("_buffer",)

    def __init__(self, buffer: LogBuffer) -> None:
        self._buffer = buffer

    def __len__(self) -> int:
        return self._buffer.total - self._buffer.first

    @overload
    def __getitem__(self, index: int) -> LogLine: ...

    @overload
    def __getitem__(self, index: slice) -> list[LogLine]: ...

    def __getitem__(self, index: int | slice) -> LogLine | list[LogLine]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        count = len(self)
        if index < 0:
            index += count
        if not 0 <= index < count:
            raise IndexError("log line index out of range")
        return self._buffer.line(self._buffer.first + index)

    def __iter__(self) -> Iterator[LogLine]:
        b = self._buffer
        return map(LogLine, b.column(0), b.column(1), b.column(2))


class LogBuffer:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self.lines = KeptLines(self)
        self.total = 0  # lines ever appended; the newest has sequence number total - 1
        self.first = 0  # sequence number of the oldest line kept
        self.width = 0  # the longest line kept (for horizontal scrolling)
        self.filter: re.Pattern[str] | None = None
        self._hits: deque[int] = deque()  # sequence numbers of lines matching the filter
        # Sealed chunks, oldest first: (timestamps, texts, streams) and the sequence number of each one's
        # first line. The newest lines are in the open chunk, lists until it holds CHUNK lines.
        self._sealed: list[tuple[tuple[str, ...], tuple[str, ...], bytes]] = []
        self._starts: list[int] = []
        self._open = LineBatch()
        self._open_start = 0

    def extend(self, lines: Iterable[LogLine]) -> int:
        """Append lines (a LineBatch goes in column by column); returns how many arrived."""
        batch = LineBatch.of(lines)
        count = len(batch)
        if not count:
            return 0
        start = self.total
        if count > self.capacity:  # only the newest capacity of them can be kept
            batch = batch[-self.capacity :]
            self._seal()
            self._open_start = self.total + count - self.capacity
        self.total += count
        texts = batch.text
        longest = max(map(len, texts))
        self.width = max(self.width, longest)
        done = 0
        while done < len(batch):
            take = min(CHUNK - len(self._open), len(batch) - done)
            self._open.extend(batch[done : done + take] if take < len(batch) else batch)
            done += take
            if len(self._open) >= CHUNK:
                self._seal()
        self.first = max(self.first, self.total - self.capacity)
        while self._starts and self._starts[0] + len(self._sealed[0][1]) <= self.first:
            del self._sealed[0], self._starts[0]
        if self.filter is not None:
            search = self.filter.search
            offset = start + count - len(texts)  # the sequence number of texts[0]
            self._hits.extend(offset + i for i, text in enumerate(texts) if search(text))
            while self._hits and self._hits[0] < self.first:
                self._hits.popleft()
        return count

    def _seal(self) -> None:
        if self._open:
            self._sealed.append((tuple(self._open.ts), tuple(self._open.text), bytes(self._open.stream)))
            self._starts.append(self._open_start)
        self._open_start += len(self._open)
        self._open = LineBatch()

    def clear(self) -> None:
        self._sealed.clear()
        self._starts.clear()
        self._open = LineBatch()
        self._open_start = self.first = self.total
        self._hits.clear()
        self.width = 0

    # -- reading the columns --------------------------------------------------------------------------------

    def line(self, seq: int) -> LogLine:
        """The kept line with this sequence number."""
        if seq >= self._open_start:
            i = seq - self._open_start
            return LogLine(self._open.ts[i], self._open.text[i], self._open.stream[i])
        n = bisect_right(self._starts, seq) - 1
        ts, text, stream = self._sealed[n]
        i = seq - self._starts[n]
        return LogLine(ts[i], text[i], stream[i])

    def column(self, which: int) -> Iterator[str] | Iterator[int]:
        """Every kept line's timestamp (0), text (1) or stream (2), oldest first."""
        parts: list[Iterable] = []
        for start, chunk in zip(self._starts, self._sealed, strict=True):
            skip = self.first - start
            parts.append(islice(chunk[which], skip, None) if skip > 0 else chunk[which])
        opened = (self._open.ts, self._open.text, self._open.stream)[which]
        skip = self.first - self._open_start
        parts.append(islice(opened, skip, None) if skip > 0 else opened)
        return chain.from_iterable(parts)

    # -- the view: every line, or the filtered ones -------------------------------------------------------

    def set_filter(self, pattern: re.Pattern[str] | None) -> None:
        self.filter = pattern
        self._hits.clear()
        if pattern is not None:
            first = self.first
            search = pattern.search
            self._hits.extend(first + i for i, text in enumerate(self.column(1)) if search(text))

    def view_len(self) -> int:
        return len(self._hits) if self.filter is not None else self.total - self.first

    def view_line(self, row: int) -> LogLine | None:
        """The row-th line of the view (0 = oldest kept)."""
        if self.filter is not None:
            if not 0 <= row < len(self._hits):
                return None
            return self.line(self._hits[row])
        if not 0 <= row < self.total - self.first:
            return None
        return self.line(self.first + row)

    def seq_of_row(self, row: int) -> int:
        return self._hits[row] if self.filter is not None else self.first + row

    def row_of_seq(self, seq: int) -> int:
        if self.filter is not None:
            return bisect_left(self._hits, seq)
        return seq - self.first

    # -- search -------------------------------------------------------------------------------------------

    def find(self, pattern: re.Pattern[str], from_seq: int, forward: bool = True) -> int | None:
        """The first line matching pattern after from_seq (forward) or before it (backward), wrapping around;
        its sequence number. Only lines of the current view count."""
        count = self.view_len()
        if count == 0:
            return None
        first = self.first
        seqs = list(self._hits) if self.filter is not None else None
        if forward:
            start = bisect_right(seqs, from_seq) if seqs is not None else from_seq - first + 1
            start = min(max(start, 0), count) % count
            rows: Iterable[int] = chain(range(start, count), range(start))
        else:
            start = (bisect_left(seqs, from_seq) if seqs is not None else from_seq - first) - 1
            start = min(max(start, -1), count - 1) % count
            rows = chain(range(start, -1, -1), range(count - 1, start, -1))
        texts = list(self.column(1))
        search = pattern.search
        for row in rows:
            seq = seqs[row] if seqs is not None else first + row
            if search(texts[seq - first]):
                return seq
        return None

    def matches(self, pattern: re.Pattern[str]) -> int:
        search = pattern.search
        return sum(1 for text in self.column(1) if search(text))

    def text(self, timestamps: bool = False) -> str:
        """Every kept line (of the view), for saving to a file."""
        rows: Iterable[tuple[str, str]]
        if self.filter is not None:
            first = self.first
            ts, texts = list(self.column(0)), list(self.column(1))
            rows = ((ts[seq - first], texts[seq - first]) for seq in self._hits)
        else:
            rows = zip(self.column(0), self.column(1), strict=True)
        return "".join(f"{ts} {text}\n" if timestamps and ts else f"{text}\n" for ts, text in rows)
