"""The container's json-file log (the engine's default log driver), read straight from disk as the engine
appends to it, rotates it (max-size/max-file) and truncates it. Why skid reads it: see the package's docstring.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import re
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

from skid_tui.engine.logs.lines import LineBatch, LineKind, ts_key

_OUT, _ERR = int(LineKind.OUT), int(LineKind.ERR)  # plain ints: looked up per line in a flood

# One entry of the json-file driver whose text needs no unescaping: no backslash in it but the final "\n",
# optional attrs (log-opt labels/env) without escapes. Anything else goes through the json module. Split by
# this pattern, a block of entries becomes one flat list of strings: [.., text, o|e, time, "\n", ..], every
# column a slice of it, and no tuple per line for the garbage collector.
_SIMPLE_ENTRY = re.compile(
    r'^\{"log":"([^"\\]*)\\n","stream":"std(o|e)(?:ut|rr)",(?:"attrs":\{[^{}\\]*\},)?"time":"([^"\\]*)"\}$',
    re.MULTILINE)
_TIME_FIELD = re.compile(rb'"time":"([^"]*)"')
_CHUNK = 262_144  # bytes per read of a log file: about 2,500 lines, two or three ms of parsing


class Unreadable(Exception):
    """A log file could not be opened or read (gone, no permission): the Engine API has the same lines."""


def fixed_ts(ts: str) -> str:
    """json-file stores RFC3339Nano (trailing zeros trimmed); the API sends 9 digits: the same text either way."""
    if len(ts) == 30 or not ts.endswith("Z"):
        return ts
    head, _, frac = ts[:-1].partition(".")
    return f"{head}.{frac:0<9}Z"


class JsonLogParser:
    """Lines of the json-file driver -> LineBatch columns; entries over 16 KiB come in pieces and are joined."""

    def __init__(self) -> None:
        self._partial: dict[int, tuple[str, str]] = {}  # stream -> (time of its first piece, text so far)
        self.last_time = ""  # of the last entry read (to tell which rotated files came after it)

    def parse(self, data: bytes, out: LineBatch) -> None:
        """Append the lines of data (whole json-file lines, each ending with a newline) to out."""
        text = data.decode("utf-8", "replace")
        count = text.count("\n")
        parts = _SIMPLE_ENTRY.split(text)
        # Every line matched when all that is left between the matches is their newlines.
        if self._partial or len(parts) != 1 + 4 * count or parts[0] or parts[4::4].count("\n") != count:
            self._parse_entries(text, out)
            return
        out.text += parts[1::4]
        out.ts += [ts if len(ts) == 30 else fixed_ts(ts) for ts in parts[3::4]]
        if count:
            self.last_time = parts[-2]
        streams = parts[2::4]
        if "e" in streams:
            out.stream += bytes(_OUT if o == "o" else _ERR for o in streams)
        else:
            out.stream += bytes((_OUT,)) * count

    def _parse_entries(self, text: str, out: LineBatch) -> None:
        rows = [row for row in text.split("\n") if row]
        try:
            entries = json.loads("[" + ",".join(rows) + "]")
        except ValueError:
            entries = [_entry(row) for row in rows]
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("log"), str):
                continue
            log: str = entry["log"]
            stream = _ERR if entry.get("stream") == "stderr" else _OUT
            ts = str(entry.get("time") or "")
            self.last_time = ts or self.last_time
            held = self._partial.pop(stream, None)
            if held is not None:
                ts, log = held[0], held[1] + log
            if not log.endswith("\n"):
                self._partial[stream] = (ts, log)
                continue
            out.ts.append(fixed_ts(ts))
            out.text.append(log[:-1].rstrip("\r"))
            out.stream.append(stream)

    def flush(self) -> LineBatch:
        """Lines the container left unfinished when it stopped (it wrote no newline after them)."""
        out = LineBatch()
        for stream, (ts, text) in self._partial.items():
            out.ts.append(fixed_ts(ts))
            out.text.append(text.rstrip("\r"))
            out.stream.append(stream)
        self._partial = {}
        return out


def _entry(row: str) -> Any:
    try:
        return json.loads(row)
    except ValueError:  # not what the engine writes: show it as it is rather than lose it
        return {"log": row + "\n", "stream": "stdout", "time": ""}


def rotated_files(path: str) -> list[str]:
    """The engine's rotated files of a json-file log (max-size/max-file), newest first: PATH.1, PATH.2, ...
    (PATH.N.gz when it compresses them)."""
    found: list[str] = []
    n = 1
    while True:
        for name in (f"{path}.{n}", f"{path}.{n}.gz"):
            if os.path.exists(name):
                found.append(name)
                break
        else:
            return found
        n += 1


def tail_start(fd: int, size: int, count: int) -> tuple[int, int]:
    """Where the last `count` lines of a file start, and how many lines that is (fewer when it is short)."""
    if count <= 0:
        return size, 0
    pos = size
    seen = 0  # newlines after pos
    while pos > 0:
        step = min(65_536, pos)
        pos -= step
        data = os.pread(fd, step, pos)
        here = data.count(b"\n")
        if seen + here > count:  # the start is here: just after the (count + 1)-th newline from the end
            cut = len(data)
            for _ in range(count + 1 - seen):
                cut = data.rindex(b"\n", 0, cut)
            return pos + cut + 1, count
        seen += here
    return 0, seen


def _open_any(name: str) -> Any:
    return gzip.open(name, "rb") if name.endswith(".gz") else open(name, "rb")


def _whole_lines(name: str) -> Iterator[bytes]:
    """A file's content in blocks of whole lines."""
    with _open_any(name) as fp:
        yield from _blocks(fp)


def _blocks(fp: Any) -> Iterator[bytes]:
    rest = b""
    while block := fp.read(_CHUNK):
        block = rest + block
        cut = block.rfind(b"\n") + 1
        rest = block[cut:]
        if cut:
            yield block[:cut]


def _last_lines(name: str, count: int) -> tuple[bytes, int]:
    """The last `count` lines of a (rotated, maybe compressed) file, and how many there were."""
    if name.endswith(".gz"):
        kept: deque[bytes] = deque(maxlen=count)
        for block in _whole_lines(name):
            kept.extend(block.splitlines(keepends=True))
        return b"".join(kept), len(kept)
    fd = os.open(name, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        start, found = tail_start(fd, size, count)
        return os.pread(fd, size - start, start), found
    finally:
        os.close(fd)


class JsonLogFile:
    """A container's json-file log, read as the engine appends to it; follows the engine's rotation (the file
    renamed to PATH.1 and a new one begun) and truncation (max-file=1)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.parser = JsonLogParser()
        try:
            self._fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            self._inode = os.fstat(self._fd).st_ino
        except OSError as exc:
            raise Unreadable(f"{path}: {exc}") from exc
        self._rest = b""  # a line the engine is still writing
        self._backlog: list[Any] = []  # open rotated files, oldest first, to read before the current one

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)
        for fp in self._backlog:
            fp.close()
        self._backlog = []

    def history(self, tail: int | str) -> Iterator[LineBatch]:
        """What was there before following begins, oldest first: the last `tail` lines (from rotated files too
        when the current one has fewer), or every line ("all"). Leaves the file where following starts."""
        try:
            if tail == "all":
                blocks: Iterable[bytes] = (b for name in reversed(rotated_files(self.path)) for b in _whole_lines(name))
            else:
                want = int(tail)
                start, found = tail_start(self._fd, os.fstat(self._fd).st_size, want)
                os.lseek(self._fd, start, os.SEEK_SET)
                older: list[bytes] = []
                for name in rotated_files(self.path):
                    if found >= want:
                        break
                    data, n = _last_lines(name, want - found)
                    older.append(data)
                    found += n
                blocks = reversed(older)
            for block in blocks:
                batch = LineBatch()
                self.parser.parse(block, batch)
                yield batch
        except OSError as exc:
            raise Unreadable(f"{self.path}: {exc}") from exc

    def read(self) -> LineBatch | None:
        """The whole lines appended since the last read (maybe none yet); None at the end of the file."""
        if self._backlog:
            return self._read_backlog()
        try:
            data = os.read(self._fd, _CHUNK)
            if not data:
                return LineBatch() if self._moved_on() else None
        except OSError as exc:
            raise Unreadable(f"{self.path}: {exc}") from exc
        if self._rest:
            data = self._rest + data
        cut = data.rfind(b"\n") + 1
        self._rest = data[cut:]
        batch = LineBatch()
        if cut:
            self.parser.parse(data[:cut] if cut < len(data) else data, batch)
        return batch

    def _moved_on(self) -> bool:
        """At the end of the file: has the engine begun a new one, or emptied this one? Then read on there."""
        try:
            current = os.stat(self.path)
        except FileNotFoundError:
            return False  # between the rename and the new file, or the container is gone
        mine = os.fstat(self._fd)
        here = os.lseek(self._fd, 0, os.SEEK_CUR)
        if current.st_ino != self._inode:
            if mine.st_size > here:
                return True  # written just before the rename: read it first
            # Between two looks the engine may have rotated more than once: the files it began after ours
            # (now PATH.1 ...) come before the current one. All are opened now, before they move on again.
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
            self._backlog = self._rotated_since()
            os.close(self._fd)
            self._fd, self._inode, self._rest = fd, os.fstat(fd).st_ino, b""
            return True
        if mine.st_size < here:
            os.lseek(self._fd, 0, os.SEEK_SET)
            self._rest = b""
            return True
        return False


    def _rotated_since(self) -> list[Any]:
        """The rotated files whose first entry is later than the last one read, opened, oldest first."""
        newer: list[Any] = []
        last = ts_key(self.parser.last_time) if self.parser.last_time else ""
        for name in rotated_files(self.path):
            try:
                if not name.endswith(".gz") and os.stat(name).st_ino == self._inode:
                    break  # the one just read
                fp = _open_any(name)
                found = _TIME_FIELD.search(fp.readline())
                fp.seek(0)
            except OSError:
                break
            if not last or found is None or ts_key(found.group(1).decode()) <= last:
                fp.close()
                break
            newer.append(fp)
        return newer[::-1]

    def _read_backlog(self) -> LineBatch:
        fp = self._backlog[0]
        block = fp.read(_CHUNK)
        batch = LineBatch()
        if not block:
            fp.close()
            self._backlog.pop(0)
            return batch
        block += fp.readline()  # to the end of its line: rotated files end with a whole line
        self.parser.parse(block, batch)
        return batch
