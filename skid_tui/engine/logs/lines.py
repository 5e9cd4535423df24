"""Log lines as skid passes them around: one LogLine, or many as the columns of a LineBatch."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import overload


class LineKind(IntEnum):
    """What a line is (LogLine.stream): the engine's two streams, and lines of skid's own. Small ints: a
    LineBatch keeps them in a bytearray column."""

    NOTE = 0  # skid's own: a restart, a gap, a cached build step
    OUT = 1  # stdout
    ERR = 2  # stderr, and errors
    WARN = 3  # a build's warning
    STEP = 4  # a build step (drawn bold)


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line: the engine's timestamp (RFC 3339, empty when unknown) and the text, without its newline."""

    ts: str
    text: str
    stream: int = LineKind.OUT  # a LineKind


class LineBatch(Sequence[LogLine]):
    """Lines as three columns (timestamps, texts, stream numbers): no object per line until one is looked at.

    A sequence of LogLine to whoever reads it; the reader and the ring buffer move whole columns.
    """

    __slots__ = ("stream", "text", "ts")

    def __init__(self, ts: list[str] | None = None, text: list[str] | None = None,
                 stream: bytearray | None = None) -> None:
        self.ts: list[str] = [] if ts is None else ts
        self.text: list[str] = [] if text is None else text
        self.stream: bytearray = bytearray() if stream is None else stream

    @classmethod
    def of(cls, lines: Iterable[LogLine]) -> LineBatch:
        """lines as a LineBatch (itself when it is one)."""
        if isinstance(lines, LineBatch):
            return lines
        batch = cls()
        batch.extend(lines)
        return batch

    def append(self, line: LogLine) -> None:
        self.ts.append(line.ts)
        self.text.append(line.text)
        self.stream.append(line.stream)

    def extend(self, lines: Iterable[LogLine]) -> None:
        if isinstance(lines, LineBatch):
            self.ts += lines.ts
            self.text += lines.text
            self.stream += lines.stream
        else:
            for line in lines:
                self.append(line)

    def select(self, rows: Iterable[int]) -> LineBatch:
        """The lines at these rows, in that order."""
        rows = list(rows)
        return LineBatch([self.ts[i] for i in rows], [self.text[i] for i in rows],
                         bytearray(self.stream[i] for i in rows))

    def __len__(self) -> int:
        return len(self.text)

    @overload
    def __getitem__(self, index: int) -> LogLine: ...

    @overload
    def __getitem__(self, index: slice) -> LineBatch: ...

    def __getitem__(self, index: int | slice) -> LogLine | LineBatch:
        if isinstance(index, slice):
            return LineBatch(self.ts[index], self.text[index], self.stream[index])
        return LogLine(self.ts[index], self.text[index], self.stream[index])

    def __iter__(self) -> Iterator[LogLine]:
        return map(LogLine, self.ts, self.text, self.stream)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LineBatch):
            return self.ts == other.ts and self.text == other.text and self.stream == other.stream
        if isinstance(other, list | tuple):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like a list

    def __repr__(self) -> str:
        return f"LineBatch({list(self)!r})"


def note(text: str) -> LineBatch:
    """A line of skid's own in a pane (LineKind.NOTE)."""
    return LineBatch([""], [text], bytearray(b"\x00"))


def ts_key(ts: str) -> str:
    """Engine timestamps trim trailing zeros of their nanoseconds: pad them so strings compare in time order."""
    head, dot, frac = ts.partition(".")
    if not dot:
        # A whole second has no fraction at all ("...:02Z"): as ".000000000Z", or "Z" sorts after ".5Z".
        return f"{ts[:-1]}.000000000Z" if ts.endswith("Z") else ts
    digits = frac.rstrip("Z")
    return f"{head}.{digits:0<9}Z"
