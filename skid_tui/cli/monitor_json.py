"""`skid monitor --json` without --once: one JSON object per interval (NDJSON), the fields of `--once --json`."""

from __future__ import annotations

import json
from typing import TextIO

from skid_tui.cli.output import say
from skid_tui.ops.sample import ModelFeed, wait_complete


def run_ndjson(feed: ModelFeed, interval: float, stream: TextIO) -> None:
    """Write `model.to_json()` as one line every `interval` seconds until Ctrl-C (or the reader leaves)."""
    if not wait_complete(feed):
        # The live table keeps going without an engine, and the watcher keeps trying: so does the stream,
        # each object's engine.state saying so.
        say(f"skid: {feed.model.engine.message or 'no container engine answered'}")
    while True:
        stream.write(json.dumps(feed.model.to_json(), separators=(",", ":")) + "\n")
        stream.flush()  # a pipe is block-buffered: a reader such as jq would get nothing for minutes
        feed.drain(interval)
