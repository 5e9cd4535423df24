"""A bounded ring of log lines with search and a live filter: what a log pane shows, without the pane.

Lines are numbered by an ever-growing sequence number; the ring keeps the newest `capacity`. A filter
keeps the sequence numbers of matching lines up to date as lines arrive and fall off, so a filtered
pane of a flooding service costs one regex match per new line, not a rescan.

The ring stores columns (timestamps, texts, streams) in sealed chunks of CHUNK lines: tuples of strings
and bytes, which the garbage collector stops looking into once it has seen them. A flood's batch goes in
as a few slices, and a full collection does not walk 100,000 kept lines (with an object, or a deque slot,
per line it did: about 10 ms of the UI thread each time, several times that on a busy 2-core machine).

A line is stored as the container wrote it (saved files get it so) but shown, searched and measured as the
reader sees it: `shown_text` (SGR colour gone, every other control character visible, the first MAX_LINE
characters only). Searching is bounded: Python's `re` cannot be interrupted mid-match, and a `.*error` or
`x+y` costs the square of a line's length (0.4 s for 10,000 characters, with the GIL held, so even a thread
stalls the UI), `(a+)+$` twice as long for each character more. So a `Matcher` refuses nested repetition
(searching it as text, and saying so), and searches a long line in growing stretches, stopping where the
next would overrun a per-line time budget; `scan` adds a budget for the whole scan and can be cancelled.
"""

from __future__ import annotations

import math
import re
import re._constants as sre_c  # private, but the only way to look at a pattern's structure
import re._parser as sre_parse
import time
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain, islice
from typing import overload

from skid_tui.engine.logs import LineBatch, LogLine
from skid_tui.safe_text import is_safe, strip_sgr

CAPACITY = 100_000
CHUNK = 4096  # lines per sealed chunk of the ring
MAX_LINE = 10_000  # characters of a line shown and searched; saved files keep all of it
FIRST_STRETCH = 256  # a line up to this long is searched in one go, longer ones in doubling stretches
LINE_BUDGET = 0.02  # seconds of searching per line: the UI waits at most about this long for one match
SCAN_BUDGET = 10.0  # seconds for searching the whole buffer, in a thread
SCAN_SLICE, SCAN_REST = 0.002, 0.001  # a search thread works this long, then lets the UI thread run this long
LIVE_BUDGET = 0.05  # seconds for matching one batch of new lines on the event loop
LIVE_SLOW = 0.0002  # seconds per line: a batch over its budget and this slow per line drops to plain text


def cut_note(length: int) -> str:
    """What the pane shows after a line cut at MAX_LINE characters."""
    return f" \u2026 (cut at {MAX_LINE:,} of {length:,} characters; ctrl+s saves all of it)"


def shown_text(raw: str) -> tuple[str, bool]:
    """The text a reader sees of a line (at most MAX_LINE characters), and whether it was cut."""
    if len(raw) <= MAX_LINE and is_safe(raw):
        return raw, False
    text = strip_sgr(raw[:MAX_LINE])
    return text[:MAX_LINE], len(raw) > MAX_LINE or len(text) > MAX_LINE


def shown_width(raw: str) -> int:
    """Columns the pane needs for a line: its shown text and, for a cut one, the note saying so."""
    text, cut = shown_text(raw)
    return len(text) + len(cut_note(len(raw))) if cut else len(text)


def compile_pattern(text: str) -> re.Pattern[str]:
    """Case-insensitive; a plain string when it is not a valid regular expression."""
    try:
        return re.compile(text, re.IGNORECASE)
    except (re.error, RecursionError, OverflowError):
        return re.compile(re.escape(text), re.IGNORECASE)


_REPEATS = (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT)


def _first_literal(alternative: sre_parse.SubPattern) -> int | None:
    items = list(alternative)
    return items[0][1] if items and items[0][0] is sre_c.LITERAL else None


def _nested(items: Iterable, in_repeat: bool) -> bool:
    """True when a repetition is repeated, or repeats a choice two of whose ways start alike: the patterns
    (`(a+)+$`, `(.*a){9}`, `(x|xy)*z`) whose backtracking grows exponentially (or by a high power)."""
    for op, av in items:
        inner: list[tuple[Iterable, bool]] = []
        if op in _REPEATS:
            many = av[1] > 1
            if many and in_repeat:
                return True
            inner = [(av[2], in_repeat or many)]
        elif op is sre_c.SUBPATTERN:
            inner = [(av[3], in_repeat)]
        elif op is sre_c.BRANCH:
            firsts = [_first_literal(alt) for alt in av[1]]
            if in_repeat and (None in firsts or len(set(firsts)) < len(firsts)):
                return True
            inner = [(alt, in_repeat) for alt in av[1]]
        elif op in (sre_c.ASSERT, sre_c.ASSERT_NOT):
            inner = [(av[1], in_repeat)]
        elif op is sre_c.POSSESSIVE_REPEAT:
            inner = [(av[2], False)]  # no backtracking into it: its inside counts as if it were not repeated
        elif op is sre_c.ATOMIC_GROUP:
            inner = [(av, False)]
        elif op is sre_c.GROUPREF_EXISTS:
            inner = [(branch, in_repeat) for branch in av[1:] if branch is not None]
        if any(_nested(sub, flag) for sub, flag in inner):
            return True
    return False


def compile_search(text: str) -> tuple[re.Pattern[str], str | None]:
    """The pattern for a search the user typed (case-insensitive), and why it is searched as plain text
    (None when it is searched as a regular expression)."""
    literal = re.compile(re.escape(text), re.IGNORECASE)
    try:
        pattern = re.compile(text, re.IGNORECASE)
    except (re.error, RecursionError, OverflowError):
        return literal, "not a regular expression"
    try:
        nested = _nested(sre_parse.parse(text, re.IGNORECASE), False)
    except (re.error, RecursionError):
        nested = True
    if nested:
        return literal, "nested repetition can take minutes"
    return pattern, None


@dataclass
class SearchStats:
    """What a search could not look at: lines cut at MAX_LINE, slow lines searched only in part."""

    cut: int = 0
    slow: int = 0


class Matcher:
    """A search: the pattern, searched within a time budget per line.

    A line longer than FIRST_STRETCH is searched in doubling stretches from its start; when the next would
    overrun LINE_BUDGET (its time predicted from the last two: `.*error` grows with the square of the
    length, `.*.*=.*` with the cube), the search stops there, and `limit` remembers how far lines can be
    searched, for the lines after it and for highlighting.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.pattern, self.plain = compile_search(text)
        self.limit = MAX_LINE  # characters of a line searched; lowered when a pattern proves slow
        self.degraded = False  # new lines went too slowly: matched as plain text since

    def degrade(self) -> None:
        """Match as plain text from now on: the pattern was too slow for lines arriving live."""
        if self.plain is None:
            self.pattern, self.plain = re.compile(re.escape(self.text), re.IGNORECASE), "too slow for new lines"
            self.degraded = True
            self.limit = MAX_LINE

    def search(self, text: str, stats: SearchStats | None = None) -> re.Match[str] | None:
        """The first match in a shown text (already at most MAX_LINE long), within the budget."""
        length = len(text)
        if length <= FIRST_STRETCH:
            return self.pattern.search(text)
        search = self.pattern.search
        limit = min(length, self.limit)
        size = min(FIRST_STRETCH, limit)
        spent = before = 0.0
        while True:
            started = time.perf_counter()
            m = search(text, 0, size)
            took = time.perf_counter() - started
            spent += took
            # A match that ends before the stretch does is a match in the whole line (one touching the end of
            # the stretch may be there only because the line seems to end there: `error$`).
            if m is not None and (m.end() < size or size == length):
                return m
            if size >= limit:
                if limit < length and stats is not None:
                    stats.slow += 1
                return m
            bigger = min(size * 2, limit)
            # Doubling the stretch multiplies its time by 2**power: 2 (quadratic) unless measured higher.
            power = 2.0 if before < 2e-5 else min(4.0, max(2.0, math.log2(max(took, 1e-9) / before)))
            before = took
            if spent + took * (bigger / size) ** power > LINE_BUDGET:
                self.limit = size
                if stats is not None:
                    stats.slow += 1
                return m
            size = bigger

    def spans(self, text: str, stop: int | None = None) -> list[tuple[int, int]]:
        """Where the matches are in a shown text that start before stop (the end of what is drawn), for
        highlighting: as far as a search may look, within the budget of a line."""
        stop = len(text) if stop is None else stop
        first = self.search(text)
        if first is None or first.start() >= stop:
            return []
        out = [(first.start(), first.end())] if first.end() > first.start() else []
        end = min(len(text), self.limit)
        deadline = time.perf_counter() + LINE_BUDGET
        for m in self.pattern.finditer(text, first.end() + (first.end() == first.start()), end):
            if m.start() >= stop or time.perf_counter() > deadline:
                break
            if m.end() > m.start():
                out.append((m.start(), m.end()))
        return out


def as_matcher(pattern: re.Pattern[str] | Matcher | str) -> Matcher:
    if isinstance(pattern, Matcher):
        return pattern
    if isinstance(pattern, str):
        return Matcher(pattern)
    m = Matcher(pattern.pattern)
    if m.plain is None:
        m.pattern = pattern  # the caller's flags
    return m


@dataclass
class ScanResult:
    """A search of a snapshot of the buffer: the matching lines' sequence numbers, and how far it got."""

    hits: list[int]
    upto: int  # the sequence number after the last line of the snapshot
    scanned: int  # lines looked at (fewer than the snapshot's when the budget ran out)
    lines: int  # lines in the snapshot
    seconds: float
    stats: SearchStats = field(default_factory=SearchStats)

    @property
    def complete(self) -> bool:
        return self.scanned == self.lines


def scan(matcher: Matcher, first: int, texts: Sequence[str], cancelled: Callable[[], bool] = lambda: False,
         budget: float = SCAN_BUDGET) -> ScanResult | None:
    """Search every text of a snapshot (the line with sequence number first, then the next...); None when
    cancelled. For a thread: a slow line costs at most about LINE_BUDGET, the whole scan about budget."""
    started = time.perf_counter()
    deadline = started + budget
    stats = SearchStats()
    hits: list[int] = []
    search = matcher.search
    clock = time.perf_counter
    scanned = 0
    pause_at = started + SCAN_SLICE
    for i, raw in enumerate(texts):
        if cancelled():
            return None
        text, cut = shown_text(raw)
        stats.cut += cut
        if search(text, stats) is not None:
            hits.append(first + i)
        scanned = i + 1
        if (i & 63) == 63 or len(text) > FIRST_STRETCH:
            now = clock()
            if now > deadline:
                break
            if now >= pause_at:
                # The GIL is the UI's for a while: a match holds it whole, and the UI thread, which gives it
                # up each time it polls for input (dozens of times for one key), would otherwise wait up to
                # 5 ms (the forced switch) each time to get it back: a key a third of a second late.
                time.sleep(SCAN_REST)
                pause_at = clock() + SCAN_SLICE
    return ScanResult(hits, first + len(texts), scanned, len(texts), clock() - started, stats)


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
        self.width = 0  # columns of the widest line kept, as shown (for horizontal scrolling)
        # The search: the lines it matches are kept up to date as lines arrive and fall off; the filter
        # narrows the view to them.
        self.search: Matcher | None = None
        self.filtering = False
        self._hits: deque[int] = deque()  # sequence numbers of lines matching the search
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
        # Most batches hold short plain lines: one check of them all. Otherwise each line as shown.
        if longest > MAX_LINE or not is_safe("".join(texts)):
            longest = max(map(shown_width, texts))
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
        if self.search is not None:
            self._track(start + count - len(texts), texts)  # start + ... : the sequence number of texts[0]
        return count

    def _track(self, offset: int, texts: Sequence[str]) -> None:
        """Match new lines (texts[0] has sequence number offset) against the search, on the caller's thread.

        Within LIVE_BUDGET a batch: past it, a pattern that is slow per line is matched as plain text from
        then on (the matcher says so); a big batch of quick lines just takes its time.
        """
        matcher = self.search
        assert matcher is not None
        hits = self._hits
        clock = time.perf_counter
        started = clock()
        for i, raw in enumerate(texts):
            if offset + i >= self.first and matcher.search(shown_text(raw)[0]) is not None:
                hits.append(offset + i)
            if (i & 63) == 63 or len(raw) > FIRST_STRETCH:
                spent = clock() - started
                if spent > LIVE_BUDGET and spent / (i + 1) > LIVE_SLOW:
                    matcher.degrade()
        while hits and hits[0] < self.first:
            hits.popleft()

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

    # -- the search, and the view: every line, or the matching ones ---------------------------------------

    @property
    def filter(self) -> Matcher | None:
        """The search when the view shows only its matches."""
        return self.search if self.filtering else None

    @property
    def hits(self) -> deque[int]:
        """Sequence numbers of the kept lines matching the search, oldest first."""
        return self._hits

    def snapshot(self) -> tuple[int, list[str]]:
        """The first kept line's sequence number and every kept text: what a search thread reads."""
        return self.first, list(self.column(1))

    def set_search(self, matcher: Matcher | None, found: ScanResult | None = None) -> None:
        """Install a search with what a scan of a snapshot found; lines that came after it are matched
        here. Without a scan, every kept line is matched here (small buffers, tests). None ends the
        search and the filter."""
        self.search = matcher
        self._hits.clear()
        if matcher is None:
            self.filtering = False
            return
        if found is None:
            found = scan(matcher, *self.snapshot(), budget=float("inf"))
            assert found is not None
        first = self.first
        self._hits.extend(seq for seq in found.hits if seq >= first)
        upto = max(found.upto, first)
        if upto < self.total:
            texts = list(islice(self.column(1), upto - first, None))
            self._track(upto, texts)

    def set_filter(self, pattern: re.Pattern[str] | Matcher | str | None) -> None:
        """Show only the lines matching pattern (searched now, on this thread), or every line again."""
        if pattern is None:
            self.filtering = False
            return
        self.set_search(as_matcher(pattern))
        self.filtering = True

    def set_filtering(self, on: bool) -> None:
        self.filtering = on and self.search is not None

    def view_len(self) -> int:
        return len(self._hits) if self.filtering else self.total - self.first

    def view_line(self, row: int) -> LogLine | None:
        """The row-th line of the view (0 = oldest kept)."""
        if self.filtering:
            if not 0 <= row < len(self._hits):
                return None
            return self.line(self._hits[row])
        if not 0 <= row < self.total - self.first:
            return None
        return self.line(self.first + row)

    def seq_of_row(self, row: int) -> int:
        return self._hits[row] if self.filtering else self.first + row

    def row_of_seq(self, seq: int) -> int:
        if self.filtering:
            return bisect_left(self._hits, seq)
        return seq - self.first

    # -- search -------------------------------------------------------------------------------------------

    def next_hit(self, from_seq: int, forward: bool = True) -> int | None:
        """The search's next match after from_seq (or before it), wrapping around: no matching done."""
        hits = self._hits
        if not hits:
            return None
        if forward:
            i = bisect_right(hits, from_seq)
            return hits[i] if i < len(hits) else hits[0]
        i = bisect_left(hits, from_seq) - 1
        return hits[i] if i >= 0 else hits[-1]

    def find(self, pattern: re.Pattern[str] | Matcher, from_seq: int, forward: bool = True) -> int | None:
        """The first line matching pattern after from_seq (forward) or before it (backward), wrapping around;
        its sequence number. Only lines of the current view count. Matches on this thread, each line within
        the matcher's budget."""
        count = self.view_len()
        if count == 0:
            return None
        first = self.first
        seqs = list(self._hits) if self.filtering else None
        if forward:
            start = bisect_right(seqs, from_seq) if seqs is not None else from_seq - first + 1
            start = min(max(start, 0), count) % count
            rows: Iterable[int] = chain(range(start, count), range(start))
        else:
            start = (bisect_left(seqs, from_seq) if seqs is not None else from_seq - first) - 1
            start = min(max(start, -1), count - 1) % count
            rows = chain(range(start, -1, -1), range(count - 1, start, -1))
        texts = list(self.column(1))
        search = as_matcher(pattern).search
        for row in rows:
            seq = seqs[row] if seqs is not None else first + row
            if search(shown_text(texts[seq - first])[0]):
                return seq
        return None

    def matches(self, pattern: re.Pattern[str] | Matcher) -> int:
        """How many kept lines match (on this thread, each line within the matcher's budget)."""
        search = as_matcher(pattern).search
        return sum(1 for text in self.column(1) if search(shown_text(text)[0]))

    def text(self, timestamps: bool = False) -> str:
        """Every kept line (of the view), for saving to a file."""
        rows: Iterable[tuple[str, str]]
        if self.filtering:
            first = self.first
            ts, texts = list(self.column(0)), list(self.column(1))
            rows = ((ts[seq - first], texts[seq - first]) for seq in self._hits)
        else:
            rows = zip(self.column(0), self.column(1), strict=True)
        return "".join(f"{ts} {text}\n" if timestamps and ts else f"{text}\n" for ts, text in rows)
