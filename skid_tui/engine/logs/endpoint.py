"""The Engine API's logs endpoint: open it, and read batches of lines from it as they arrive."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from skid_tui.engine import dockerapi
from skid_tui.engine.client import Engine
from skid_tui.engine.logs.frames import LineAssembler, dechunk, split_frames
from skid_tui.engine.logs.lines import LineBatch


def open_logs(engine: Engine, container_id: str, *, follow: bool, tail: int | str, since: float | None,
              timestamps: bool = True) -> Any:
    """The raw HTTP response of the logs endpoint (dockerapi.close_stream() ends it, from any thread)."""
    api = engine.api
    params: dict[str, Any] = {"stdout": 1, "stderr": 1, "follow": 1 if follow else 0, "timestamps": int(timestamps),
                              "tail": tail}
    if since is not None:
        params["since"] = f"{since:.9f}"
    return dockerapi.open_stream(api, "GET", "/containers/{0}/logs", container_id, params=params)


def body_pieces(response: Any) -> Iterator[bytes]:
    """The response body in pieces as it arrives: our own chunk decoder when we can reach the connection's
    buffered reader (as docker-py itself does for attach streams), urllib3's otherwise."""
    fp = dockerapi.buffered_body(response)
    if fp is not None:
        return dechunk(fp)
    if response.raw.chunked:
        return response.raw.read_chunked(decode_content=False)
    return response.raw.stream(65536)


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
