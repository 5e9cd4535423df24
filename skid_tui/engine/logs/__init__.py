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

By job: `lines` (LogLine, LineBatch), `frames` (HTTP chunks and multiplexed frames -> lines), `endpoint`
(the logs endpoint opened and read), `jsonfile` (the json-file log on disk, across rotation), `exitwatch`
(when a container's process may have ended), `follower` (a service's logs across restarts), `mailbox`
(lines from a reader thread to the UI). The names below are the ones used outside this package.
"""

from skid_tui.engine.logs.endpoint import open_logs, read_lines
from skid_tui.engine.logs.exitwatch import ExitWatch
from skid_tui.engine.logs.follower import SOURCE_ENV, Current, LogFollower, current_of, service_container
from skid_tui.engine.logs.frames import LineAssembler, dechunk, split_frames
from skid_tui.engine.logs.jsonfile import JsonLogFile, JsonLogParser, Unreadable, tail_start
from skid_tui.engine.logs.lines import LineBatch, LineKind, LogLine, ts_key
from skid_tui.engine.logs.mailbox import LineMailbox

__all__ = [
    "SOURCE_ENV",
    "Current",
    "ExitWatch",
    "JsonLogFile",
    "JsonLogParser",
    "LineAssembler",
    "LineBatch",
    "LineKind",
    "LineMailbox",
    "LogFollower",
    "LogLine",
    "Unreadable",
    "current_of",
    "dechunk",
    "open_logs",
    "read_lines",
    "service_container",
    "split_frames",
    "tail_start",
    "ts_key",
]
