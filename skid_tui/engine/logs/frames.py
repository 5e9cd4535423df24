"""The bytes of the Engine API's logs endpoint -> lines: HTTP chunks, then multiplexed frames (8-byte headers;
a TTY's output has none), then lines, each step over whole pieces rather than frame by frame as docker-py
reads them. Nothing here talks to the engine.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

from skid_tui.engine.logs.lines import LineBatch

_HEADER = struct.Struct(">BxxxL")


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
