"""Following a service's logs, fast enough for floods, across container restarts and log rotation.

Two sources of the same lines:
- the container's json-file log (the engine's default log driver) read straight from disk, where the engine
  runs on this machine and the file is readable (root, rootless Docker). The logs endpoint re-reads that file
  and sends every line as its own frame and HTTP chunk: about 7 µs of the engine's CPU per line, which on a
  2-core laptop caps a flood near 100,000 lines/s before the client has done any work at all. The file
  costs the engine nothing more than writing it, and it survives log rotation, which the engine's follow
  stream does not (Docker 20.10 repeats and drops lines when max-size rotates the file under it).
- the Engine API's logs endpoint everywhere else (Docker Desktop's VM, Podman, remote engines, other log
  drivers, no permission), or when SKID_LOGS=api. It sends a multiplexed stream (8-byte frame headers) for
  containers without a TTY and raw bytes for those with one. docker-py reads it frame by frame with two
  socket reads each; this reads whole HTTP chunks and splits frames and lines itself.

Lines travel in LineBatch columns (timestamps, texts, streams): a flood costs a few list operations per
batch, not a Python object per line.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import re
import select
import struct
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

import docker.types

from skid_tui.engine.cgroups import parse_proc_cgroup
from skid_tui.engine.client import ENGINE_ERRORS, ONEOFF_LABEL, PROJECT_LABEL, SERVICE_LABEL, Engine

TAIL = 500  # lines of history when a pane opens, as the issue asks
# The Engine API's logs endpoint by default, as docker logs reads them. SKID_LOGS=file reads the container's
# json-file log from disk where it can (2-3x the lines per second, a quarter of the engine's CPU; see
# docs/performance.md), falling back to the API where it cannot.
SOURCE_ENV = "SKID_LOGS"
FILE_POLL = 0.05  # seconds between looks at a log file that has nothing new (a new line shows within this)
READER_NICE = 10  # how much lower than the UI's the CPU priority of a thread reading a log file is
API_BATCH, API_HOLD = 5000, 0.05  # lines from the API held while more is waiting: at most this many, this long
_HEADER = struct.Struct(">BxxxL")


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line: the engine's timestamp (RFC 3339, empty when unknown) and the text, without its newline."""

    ts: str
    text: str
    stream: int = 1  # 1 stdout, 2 stderr, 0 a note of skid's own (a restart, a gap)


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
    """A line of skid's own in a pane (stream 0)."""
    return LineBatch([""], [text], bytearray(b"\x00"))


# -- the Engine API's logs endpoint ---------------------------------------------------------------------------


def split_frames(buffer: bytearray, multiplexed: bool, open_lines: set[int] | None = None) -> list[tuple[int, bytes]]:
    """Complete frames from the front of buffer (consumed), consecutive frames of one stream joined:
    [(stream, bytes)]. What is incomplete stays for the next chunk.

    The engine cuts lines over 16 KiB into several frames, and with timestamps each piece carries its own.
    Given open_lines (the streams whose last frame ended mid-line, kept from call to call), a frame that
    continues such a line loses its timestamp, so the line reads as the container wrote it.
    """
    if not multiplexed:
        if not buffer:
            return []
        data = bytes(buffer)
        del buffer[:]
        return [(1, data)]
    runs: list[tuple[int, bytes]] = []
    pieces: list[bytearray] = []
    stream = -1
    pos, end = 0, len(buffer)
    unpack = _HEADER.unpack_from
    while end - pos >= 8:
        kind, size = unpack(buffer, pos)
        stop = pos + 8 + size
        if stop > end:
            break
        begin = pos + 8
        if open_lines is not None and size:
            if open_lines and kind in open_lines:
                begin = buffer.find(b" ", begin, stop) + 1 or begin
            if buffer[stop - 1] != 10:  # no newline at its end: the line goes on in a later frame
                open_lines.add(kind)
            elif open_lines:
                open_lines.discard(kind)
        if kind != stream:
            if pieces:
                runs.append((stream, b"".join(pieces)))
                pieces = []
            stream = kind
        pieces.append(buffer[begin:stop])
        pos = stop
    if pieces:
        runs.append((stream, b"".join(pieces)))
    del buffer[:pos]
    return runs


class LineAssembler:
    """Bytes -> lines, per stream, keeping a partial last line until its newline arrives."""

    def __init__(self, timestamps: bool) -> None:
        self.timestamps = timestamps
        self._partial: dict[int, bytes] = {}

    def feed(self, stream: int, data: bytes, out: LineBatch) -> None:
        """Append data's complete lines to out; a multi-byte character cut at the end waits whole."""
        partial = self._partial.pop(stream, None)
        if partial:
            data = partial + data
        cut = data.rfind(b"\n") + 1
        if cut < len(data):
            self._partial[stream] = data[cut:]
        if not cut:
            return
        text = data[: cut - 1].decode("utf-8", "replace")
        parts = text.split("\n")
        if "\r" in text:
            parts = [p.rstrip("\r") for p in parts]
        if self.timestamps:  # partition twice: no tuple outlives its line, so none reaches the garbage collector
            out.ts += [p.partition(" ")[0] for p in parts]
            out.text += [p.partition(" ")[2] for p in parts]
        else:
            out.ts += [""] * len(parts)
            out.text += parts
        out.stream += bytes((stream,)) * len(parts)

    def flush(self, out: LineBatch) -> None:
        """The last line of a stream that ended without a newline."""
        partial, self._partial = self._partial, {}
        for stream, rest in partial.items():
            if rest:
                self.feed(stream, rest + b"\n", out)


def open_logs(engine: Engine, container_id: str, *, follow: bool, tail: int | str, since: float | None,
              timestamps: bool = True) -> Any:
    """The raw HTTP response of the logs endpoint (closable from another thread)."""
    api = engine.api
    params: dict[str, Any] = {"stdout": 1, "stderr": 1, "follow": 1 if follow else 0, "timestamps": int(timestamps),
                              "tail": tail}
    if since is not None:
        params["since"] = f"{since:.9f}"
    response = api._get(api._url("/containers/{0}/logs", container_id), params=params, stream=True, timeout=None)
    api._raise_for_status(response)
    return response


def dechunk(fp: Any, size: int = 262_144) -> Iterator[bytes]:
    """The body of an HTTP/1.1 chunked response, as much of it as each read brings.

    Following a flood, the engine sends every log line as its own HTTP chunk; urllib3 decodes those one at
    a time (about 5 µs each). Reading the connection's buffered reader in large pieces and cutting chunk
    boundaries here takes one short loop turn per chunk.
    """
    pending = b""
    while True:
        data = fp.read1(size)
        if not data:
            return
        buf = pending + data if pending else data
        pieces: list[bytes] = []
        find = buf.find
        pos, end = 0, len(buf)
        while True:
            nl = find(b"\r\n", pos)
            if nl < 0:
                break
            try:
                length = int(buf[pos:nl], 16)
            except ValueError:  # a chunk extension (";name=value"), which the engine never sends
                length = int(buf[pos:nl].split(b";", 1)[0], 16)
            if length == 0:  # the last chunk: the stream is over
                if pieces:
                    yield b"".join(pieces)
                return
            stop = nl + 2 + length
            if stop + 2 > end:  # the rest of this chunk is in the next read
                break
            pieces.append(buf[nl + 2 : stop])
            pos = stop + 2
        pending = buf[pos:]
        if pieces:
            yield b"".join(pieces)


def body_pieces(response: Any) -> Iterator[bytes]:
    """The response body in pieces as it arrives: our own chunk decoder when we can reach the connection's
    buffered reader (as docker-py itself does for attach streams), urllib3's otherwise."""
    fp = getattr(getattr(response.raw, "_fp", None), "fp", None)
    if response.raw.chunked and fp is not None and hasattr(fp, "read1"):
        return dechunk(fp)
    if response.raw.chunked:
        return response.raw.read_chunked(decode_content=False)
    return response.raw.stream(65536)


def _connection_fd(response: Any) -> int | None:
    """The socket under a streamed response, to see whether more is waiting on it; None when out of reach."""
    fp = getattr(getattr(response.raw, "_fp", None), "fp", None)
    try:
        return fp.fileno() if fp is not None else None
    except (AttributeError, OSError, ValueError):
        return None


def read_lines(response: Any, multiplexed: bool, timestamps: bool = True) -> Iterator[LineBatch]:
    """Batches of lines from an open logs response, as they arrive.

    Consecutive frames of one stream are joined and split in one go: a flood's piece of a thousand
    one-line frames costs a handful of bytes operations per line.
    """
    buffer = bytearray()
    assembler = LineAssembler(timestamps)
    open_lines: set[int] | None = set() if timestamps else None
    for piece in body_pieces(response):
        buffer += piece
        batch = LineBatch()
        for stream, data in split_frames(buffer, multiplexed, open_lines):
            assembler.feed(stream, data, batch)
        if batch:
            yield batch
    rest = LineBatch()
    assembler.flush(rest)
    if rest:
        yield rest


def ts_key(ts: str) -> str:
    """Engine timestamps trim trailing zeros of their nanoseconds: pad them so strings compare in time order."""
    head, dot, frac = ts.partition(".")
    if not dot:
        return ts
    digits = frac.rstrip("Z")
    return f"{head}.{digits:0<9}Z"


def rfc3339_to_unix(ts: str) -> float | None:
    """The engine's nanosecond timestamps as seconds (for `since`), or None."""
    from skid_tui.engine.containers import parse_engine_time

    parsed = parse_engine_time(ts)
    return parsed.timestamp() if parsed else None


# -- the json-file log on disk ----------------------------------------------------------------------------------

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
            out.stream += bytes(1 if o == "o" else 2 for o in streams)
        else:
            out.stream += b"\x01" * count

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
            stream = 2 if entry.get("stream") == "stderr" else 1
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


class ExitWatch:
    """Says cheaply when a container's main process may have ended, so the engine is asked only then: a pidfd
    when the PID is provably the container's (its cgroup names the container), else a look every second."""

    def __init__(self, container_id: str, pid: int) -> None:
        self._fd = -1
        self._asked = 0.0
        self._gone = False
        if pid <= 0 or not hasattr(os, "pidfd_open"):
            return
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            self._gone = True
            return
        except OSError:
            return
        try:
            cgroups = parse_proc_cgroup(Path(f"/proc/{pid}/cgroup").read_text())
        except OSError:
            cgroups = {}
        if any(container_id in path for path in cgroups.values()):
            self._fd = fd  # read after the pidfd was opened: a reused PID cannot pass
        else:
            os.close(fd)

    def maybe_exited(self) -> bool:
        now = time.monotonic()
        if self._fd >= 0 and not self._gone:
            self._gone = bool(select.select([self._fd], [], [], 0)[0])
            if not self._gone:
                return False
        # ended (the engine may still be writing its last lines), or unknowable: ask, but not at every poll
        if now - self._asked < (0.2 if self._gone else 1.0):
            return False
        self._asked = now
        return True

    def close(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = -1


# -- following a service ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Current:
    """The container a service's logs come from now."""

    id: str
    tty: bool
    running: bool
    pid: int = 0
    started_at: str = ""
    log_driver: str = ""
    log_path: str = ""


def current_of(doc: dict[str, Any]) -> Current:
    """A Current from a container's inspect document."""
    state = doc.get("State") or {}
    log_config = (doc.get("HostConfig") or {}).get("LogConfig") or {}
    return Current(doc["Id"], bool((doc.get("Config") or {}).get("Tty")), bool(state.get("Running")),
                   int(state.get("Pid") or 0), str(state.get("StartedAt") or ""), str(log_config.get("Type") or ""),
                   str(doc.get("LogPath") or ""))


def service_container(project: str, service: str) -> Callable[[Engine], Current | None]:
    """A resolver for LogFollower: the service's running container, else its latest stopped one."""

    def resolve(engine: Engine) -> Current | None:
        found = engine.api.containers(all=True, filters={"label": [f"{PROJECT_LABEL}={project}",
                                                                    f"{SERVICE_LABEL}={service}"]})
        found = [c for c in found if (c.get("Labels") or {}).get(ONEOFF_LABEL, "False") != "True"]
        if not found:
            return None
        found.sort(key=lambda c: (c.get("State") == "running", c.get("Created", 0)), reverse=True)
        doc = engine.inspect(found[0]["Id"])
        return current_of(doc) if doc is not None else None

    return resolve


@dataclass
class _FileState:
    """Where the log file of the container last followed was left, to go on there after a restart."""

    container: str
    log: JsonLogFile
    carry: LineBatch  # lines read past a restart, shown after its note


class LogFollower:
    """Follows one compose service's logs: the last TAIL lines, then live; across restarts and recreates.

    `resolve()` names the service's current container; the follower asks again when a stream ends, so a
    restart or a `compose up` that recreates the container continues the same pane (with a note where it
    happened). Lines reach `on_lines` in batches (LineBatch), as they arrive. `via` says where they come from:
    "file" (the json-file log on disk) or "api".
    Run `run()` in a thread; `stop()` from any thread.
    """

    def __init__(self, engine_factory: Callable[[], Engine], resolve: Callable[[Engine], Current | None],
                 on_lines: Callable[[LineBatch], None], *, tail: int = TAIL, poll: float = 1.0) -> None:
        self.engine_factory = engine_factory
        self.resolve = resolve
        self.on_lines = on_lines
        self.tail = tail
        self.poll = poll
        self.source = os.environ.get(SOURCE_ENV, "api")
        self.via = ""
        self._stopped = threading.Event()
        self._response: Any = None
        self._file: _FileState | None = None
        self._no_file: set[str] = set()  # containers whose log file turned out unreadable
        self.last_ts = ""

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def stop(self) -> None:
        self._stopped.set()
        response = self._response
        if response is not None:
            docker.types.CancellableStream(iter(()), response).close()

    def run(self) -> None:
        engine: Engine | None = None
        shown: tuple[str, bool] | None = None  # (container, running) whose logs were read last
        waited = False  # the pane opened before the service had a container: all of its lines are new
        try:
            while not self.stopped:
                try:
                    if engine is None:
                        engine = self.engine_factory()
                    current = self.resolve(engine)
                except ENGINE_ERRORS:
                    if engine is not None:
                        engine.close()
                    engine = None
                    self._stopped.wait(self.poll)
                    continue
                # Nothing new to read until it runs (again). A container created but not started yet (compose
                # between its create and start) has no logs: reading it would only note a bogus restart.
                never_ran = current is not None and current.started_at.startswith("0001-01-01")
                if current is None or (not current.running and (shown == (current.id, False) or never_ran)):
                    waited = waited or shown is None
                    self._stopped.wait(self.poll)
                    continue
                first = shown is None
                if not first and current.running:
                    again = "running again" if shown and shown[0] == current.id else "a new container"
                    self.on_lines(note(f"── {current.id[:12]}: {again}, following its logs ──"))
                try:
                    tail: int | str = self.tail if first and not waited else "all"
                    if self._file_readable(current):
                        try:
                            self._follow_file(engine, current, tail)
                        except Unreadable:
                            self._no_file.add(current.id)
                            self._close_file()
                            self._follow_api(engine, current, tail if not self.last_ts else "all")
                    else:
                        self._follow_api(engine, current, tail)
                except ENGINE_ERRORS:
                    if engine is not None:
                        engine.close()
                    engine = None
                finally:
                    self._response = None
                shown = (current.id, False)
                if not self.stopped and current.running:
                    self.on_lines(note("── the container stopped; the pane goes on when it runs again ──"))
                    self._stopped.wait(self.poll)
        finally:
            self._close_file()
            if engine is not None:
                engine.close()

    # -- through the Engine API -----------------------------------------------------------------------------

    def _follow_api(self, engine: Engine, current: Current, tail: int | str) -> None:
        self.via = "api"
        self._response = open_logs(engine, current.id, follow=True, tail=tail,
                                   since=rfc3339_to_unix(self.last_ts) if self.last_ts else None)
        self._pump(self._response, multiplexed=not current.tty)

    def _pump(self, response: Any, multiplexed: bool) -> None:
        # Lines are handed over as they arrive, but while more is already waiting on the connection they are
        # held (up to API_BATCH lines or API_HOLD seconds) and go with it: the engine sends a flood a line per
        # write, its socket buffer holds a few hundred such writes, and a reader handing over every read woke
        # the UI a thousand times a second. A quiet stream has nothing waiting: its line goes at once.
        fd = _connection_fd(response)
        repeats = bool(self.last_ts)  # a reopened stream may repeat lines of the instant it starts at
        held, since = LineBatch(), 0.0
        for arrived in read_lines(response, multiplexed):
            if self.stopped:
                return
            batch = arrived
            if repeats:
                seen = ts_key(self.last_ts)
                if batch.ts[0] and ts_key(batch.ts[0]) <= seen:
                    batch = batch.select(i for i, ts in enumerate(batch.ts) if ts_key(ts) > seen)
                else:
                    repeats = False
            held.extend(batch)
            since = since or time.monotonic()
            if (fd is not None and len(held) < API_BATCH and time.monotonic() - since < API_HOLD
                    and select.select([fd], [], [], 0)[0]):
                continue
            self._deliver(held)
            held, since = LineBatch(), 0.0
        self._deliver(held)

    # -- from the log file ----------------------------------------------------------------------------------

    def _file_readable(self, current: Current) -> bool:
        return (self.source == "file" and current.log_driver == "json-file" and bool(current.log_path)
                and current.id not in self._no_file and os.access(current.log_path, os.R_OK))

    def _close_file(self) -> None:
        if self._file is not None:
            self._file.log.close()
            self._file = None

    def _deliver(self, batch: LineBatch) -> None:
        if batch:
            self.last_ts = batch.ts[-1] or self.last_ts
            self.on_lines(batch)

    def _follow_file(self, engine: Engine, current: Current, tail: int | str) -> None:
        """Read the container's log file until the container stops (or at once, when it is not running).

        In a thread of its own at a lower CPU priority (Linux nice, which applies per thread): reading a file
        never waits, so in a flood this thread is busy, and on a laptop's two cores the dashboard's event loop
        and its input thread must win the CPU over it, not the other way round. A thread of its own, because
        an unprivileged process cannot raise a thread's priority back, and this one came from a shared pool.
        """
        self.via = "file"
        failed: list[BaseException] = []

        def read() -> None:
            if sys.platform == "linux":  # elsewhere a thread's id is no process id to setpriority
                with contextlib.suppress(OSError):  # not allowed: at the priority it has
                    tid = threading.get_native_id()
                    nice = min(19, os.getpriority(os.PRIO_PROCESS, tid) + READER_NICE)
                    os.setpriority(os.PRIO_PROCESS, tid, nice)
            try:
                self._read_file(engine, current, tail)
            except BaseException as exc:  # handed over to the follower's own thread, which raises it
                failed.append(exc)

        reader = threading.Thread(target=read, name="skid-log-reader", daemon=True)
        reader.start()
        reader.join()
        if failed:
            raise failed[0]

    def _read_file(self, engine: Engine, current: Current, tail: int | str) -> None:
        state = self._file
        if state is not None and state.container != current.id:
            self._close_file()
            state = None
        if state is None:
            log = JsonLogFile(current.log_path)
            state = self._file = _FileState(current.id, log, LineBatch())
            for batch in log.history(tail):
                if self.stopped:
                    return
                self._deliver(batch)
        else:  # the same container again: on from where its file was left, nothing repeated or skipped
            carry, state.carry = state.carry, LineBatch()
            self._deliver(carry)
        log = state.log
        watch = ExitWatch(current.id, current.pid)
        try:
            while not self.stopped:
                spent = time.thread_time()
                batch = log.read()
                if batch is not None:
                    self._deliver(batch)
                    # Reading a file never blocks: without a pause this thread would hold the GIL for most
                    # of a flood, and the UI's event loop and input thread would queue for it at every step.
                    # Resting twice as long as it worked leaves them two thirds of the time at worst, and
                    # still reads far more than 100,000 lines a second.
                    self._stopped.wait(2 * (time.thread_time() - spent))
                    continue
                if not current.running:
                    self._deliver(log.parser.flush())
                    return  # a stopped container's file is complete
                if watch.maybe_exited():
                    doc = engine.inspect(current.id)
                    now = current_of(doc) if doc is not None else None
                    if now is None or not now.running or (now.pid, now.started_at) != (current.pid, current.started_at):
                        self._drain(state, now.started_at if now is not None and now.running else "")
                        if now is None:
                            self._close_file()  # removed: let the engine free its file
                        return
                self._stopped.wait(FILE_POLL)
        finally:
            watch.close()

    def _drain(self, state: _FileState, restarted_at: str) -> None:
        """The rest of a run that ended (the engine has written all of it by now). When the container is
        already running again, lines from its new run wait for the note that says so."""
        cut = ts_key(restarted_at) if restarted_at else ""
        while not self.stopped:
            batch = state.log.read()
            if batch is None:
                self._deliver(state.log.parser.flush())
                return
            if cut and batch and ts_key(batch.ts[-1]) >= cut:
                keep = next(i for i, ts in enumerate(batch.ts) if ts_key(ts) >= cut)
                self._deliver(batch[:keep])
                state.carry = batch[keep:]
                return
            self._deliver(batch)


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
