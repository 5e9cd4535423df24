"""Following a service's logs through the Engine API, fast enough for floods, across container restarts.

The logs endpoint sends a multiplexed stream (8-byte frame headers) for containers without a TTY and raw
bytes for those with one. docker-py reads it frame by frame with two socket reads each; at a hundred
thousand lines a second that is the bottleneck, so this reads whole HTTP chunks and splits frames and
lines itself.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import docker.types

from skid_tui.engine.client import ENGINE_ERRORS, ONEOFF_LABEL, PROJECT_LABEL, SERVICE_LABEL, Engine

TAIL = 500  # lines of history when a pane opens, as the issue asks
_HEADER = struct.Struct(">BxxxL")


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line: the engine's timestamp (RFC 3339, empty when unknown) and the text, without its newline."""

    ts: str
    text: str
    stream: int = 1  # 1 stdout, 2 stderr, 0 a note of skid's own (a restart, a gap)


def split_frames(buffer: bytearray, multiplexed: bool) -> Iterator[tuple[int, bytes]]:
    """Complete frames from the front of buffer (consumed); what is incomplete stays for the next chunk."""
    if not multiplexed:
        if buffer:
            yield 1, bytes(buffer)
            del buffer[:]
        return
    pos = 0
    end = len(buffer)
    while end - pos >= 8:
        kind, size = _HEADER.unpack_from(buffer, pos)
        if end - pos - 8 < size:
            break
        yield kind, bytes(buffer[pos + 8 : pos + 8 + size])
        pos += 8 + size
    del buffer[:pos]


class LineAssembler:
    """Bytes -> LogLines, per stream, keeping a partial last line until its newline arrives."""

    def __init__(self, timestamps: bool) -> None:
        self.timestamps = timestamps
        self._partial: dict[int, bytes] = {}

    def feed(self, stream: int, data: bytes, out: list[LogLine]) -> None:
        partial = self._partial.pop(stream, None)
        if partial:
            data = partial + data
        parts = data.decode("utf-8", "replace").split("\n")
        last = parts.pop()
        if last:
            self._partial[stream] = last.encode()
        if self.timestamps:
            out.extend(LogLine(ts, text.rstrip("\r"), stream) for ts, _, text in (p.partition(" ") for p in parts))
        else:
            out.extend(LogLine("", text.rstrip("\r"), stream) for text in parts)

    def flush(self, out: list[LogLine]) -> None:
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
    boundaries here costs a fraction of that, so a million lines are a few seconds of CPU, not tens.
    """
    pending = bytearray()
    remaining = 0  # payload bytes left in the current chunk
    skip = 0  # the CRLF that follows a chunk's payload
    while True:
        data = fp.read1(size)
        if not data:
            return
        pending += data
        out = bytearray()
        pos, end = 0, len(pending)
        while pos < end:
            if skip:
                take = min(skip, end - pos)
                pos += take
                skip -= take
            elif remaining:
                take = min(remaining, end - pos)
                out += pending[pos : pos + take]
                pos += take
                remaining -= take
                if not remaining:
                    skip = 2
            else:
                nl = pending.find(b"\r\n", pos)
                if nl < 0:
                    break
                remaining = int(bytes(pending[pos:nl]).split(b";", 1)[0], 16)
                pos = nl + 2
                if remaining == 0:  # the last chunk: the stream is over
                    if out:
                        yield bytes(out)
                    return
        del pending[:pos]
        if out:
            yield bytes(out)


def body_pieces(response: Any) -> Iterator[bytes]:
    """The response body in pieces as it arrives: our own chunk decoder when we can reach the connection's
    buffered reader (as docker-py itself does for attach streams), urllib3's otherwise."""
    fp = getattr(getattr(response.raw, "_fp", None), "fp", None)
    if response.raw.chunked and fp is not None and hasattr(fp, "read1"):
        return dechunk(fp)
    if response.raw.chunked:
        return response.raw.read_chunked(decode_content=False)
    return response.raw.stream(65536)


def read_lines(response: Any, multiplexed: bool, timestamps: bool = True) -> Iterator[list[LogLine]]:
    """Batches of lines from an open logs response, as they arrive.

    Consecutive frames of one stream are joined and split in one go: a flood's piece of a thousand
    one-line frames costs a handful of bytes operations per line.
    """
    buffer = bytearray()
    assembler = LineAssembler(timestamps)
    for piece in body_pieces(response):
        buffer += piece
        batch: list[LogLine] = []
        run_stream, run = -1, []
        for stream, data in split_frames(buffer, multiplexed):
            if stream != run_stream and run:
                assembler.feed(run_stream, b"".join(run), batch)
                run = []
            run_stream = stream
            run.append(data)
        if run:
            assembler.feed(run_stream, b"".join(run), batch)
        if batch:
            yield batch
    rest: list[LogLine] = []
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


@dataclass(frozen=True)
class Current:
    """The container a service's logs come from now."""

    id: str
    tty: bool
    running: bool


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
        if doc is None:
            return None
        state = doc.get("State") or {}
        return Current(doc["Id"], bool((doc.get("Config") or {}).get("Tty")), bool(state.get("Running")))

    return resolve


class LogFollower:
    """Follows one compose service's logs: the last TAIL lines, then live; across restarts and recreates.

    `resolve()` names the service's current container; the follower asks again when a stream ends, so a
    restart or a `compose up` that recreates the container continues the same pane (with a note where it
    happened). Lines reach `on_lines` in batches, one per chunk the engine sends.
    Run `run()` in a thread; `stop()` from any thread.
    """

    def __init__(self, engine_factory: Callable[[], Engine], resolve: Callable[[Engine], Current | None],
                 on_lines: Callable[[list[LogLine]], None], *, tail: int = TAIL, poll: float = 1.0) -> None:
        self.engine_factory = engine_factory
        self.resolve = resolve
        self.on_lines = on_lines
        self.tail = tail
        self.poll = poll
        self._stopped = threading.Event()
        self._response: Any = None
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
            if current is None or (shown == (current.id, False) and not current.running):
                waited = waited or shown is None
                self._stopped.wait(self.poll)  # nothing new to read until it runs again
                continue
            first = shown is None
            if not first and current.running:
                again = "running again" if shown and shown[0] == current.id else "a new container"
                self.on_lines([LogLine("", f"── {current.id[:12]}: {again}, following its logs ──", 0)])
            try:
                tail = self.tail if first and not waited else "all"
                self._response = open_logs(engine, current.id, follow=True, tail=tail,
                                           since=None if first else rfc3339_to_unix(self.last_ts))
                self._pump(self._response, multiplexed=not current.tty)
            except ENGINE_ERRORS:
                if engine is not None:
                    engine.close()
                engine = None
            finally:
                self._response = None
            shown = (current.id, False)
            if not self.stopped and current.running:
                self.on_lines([LogLine("", "── the container stopped; the pane goes on when it runs again ──", 0)])
                self._stopped.wait(self.poll)
        if engine is not None:
            engine.close()

    def _pump(self, response: Any, multiplexed: bool) -> None:
        # One batch per HTTP chunk, handed over at once: a chunk is one write of the container (a line) when
        # it is quiet, and tens of kilobytes when it floods, so batches grow with the rate by themselves.
        for chunk in read_lines(response, multiplexed):
            if self.stopped:
                return
            batch = chunk
            if self.last_ts and batch and batch[0].ts and ts_key(batch[0].ts) <= ts_key(self.last_ts):
                # A reopened stream may repeat lines of the instant it starts at: drop what was shown.
                seen = ts_key(self.last_ts)
                batch = [line for line in batch if ts_key(line.ts) > seen]
            if batch:
                self.last_ts = batch[-1].ts or self.last_ts
                self.on_lines(batch)


class LineMailbox:
    """Lines from a reader thread to one consumer, coalesced: the consumer is woken once, then takes
    everything that arrived until it looked. A flood therefore costs one wake-up per consumer cycle,
    not one per line, and a quiet stream is still delivered at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lines: list[LogLine] = []
        self._waiting = False  # a wake-up is on its way and has not been taken yet

    def put(self, lines: list[LogLine]) -> bool:
        """Store lines; True when the consumer must be woken (no wake-up pending)."""
        with self._lock:
            self._lines.extend(lines)
            if self._waiting:
                return False
            self._waiting = True
            return True

    def take(self) -> list[LogLine]:
        with self._lock:
            lines, self._lines = self._lines, []
            self._waiting = False
            return lines
