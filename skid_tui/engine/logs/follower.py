"""Following one compose service's logs across container restarts and recreates, from the file or the API."""

from __future__ import annotations

import contextlib
import os
import select
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from skid_tui.engine import dockerapi
from skid_tui.engine.client import ENGINE_ERRORS, ONEOFF_LABEL, PROJECT_LABEL, SERVICE_LABEL, Engine
from skid_tui.engine.logs.endpoint import open_logs, read_lines
from skid_tui.engine.logs.exitwatch import ExitWatch
from skid_tui.engine.logs.jsonfile import JsonLogFile, Unreadable
from skid_tui.engine.logs.lines import LineBatch, note, ts_key

TAIL = 500  # lines of history when a pane opens, as the issue asks
# The Engine API's logs endpoint by default, as docker logs reads them. SKID_LOGS=file reads the container's
# json-file log from disk where it can (2-3x the lines per second, a quarter of the engine's CPU; see
# docs/performance.md), falling back to the API where it cannot.
SOURCE_ENV = "SKID_LOGS"
FILE_POLL = 0.05  # seconds between looks at a log file that has nothing new (a new line shows within this)
READER_NICE = 10  # how much lower than the UI's the CPU priority of a thread reading a log file is
API_BATCH, API_HOLD = 5000, 0.05  # lines from the API held while more is waiting: at most this many, this long


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
        # The lines (stream, text) delivered at exactly last_ts. A reopened stream starts at last_ts (`since`)
        # and so repeats those: skipping every line at last_ts would also drop new ones of the same instant,
        # and Podman's timestamps are whole seconds (a restart within the second lost every line of it).
        # Skipping by count is not enough either: across a restart Podman's old stream may deliver a new
        # run's second line without its first, so the lines at last_ts are told apart by what they say.
        self._at_last: Counter[tuple[int, str]] = Counter()

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def stop(self) -> None:
        self._stopped.set()
        response = self._response
        if response is not None:
            dockerapi.close_stream(response)

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
                    if self._file_readable(engine, current):
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
        fd = dockerapi.connection_fd(response)
        # A reopened stream repeats what came before `since` rounding and the lines of the instant it starts
        # at: drop those before it, and at it the ones delivered already.
        repeats, seen, delivered = bool(self.last_ts), ts_key(self.last_ts), Counter(self._at_last)
        held, since = LineBatch(), 0.0
        for arrived in read_lines(response, multiplexed):
            if self.stopped:
                return
            batch = arrived
            if repeats:
                keep: list[int] = []
                for i, ts in enumerate(batch.ts):
                    key = ts_key(ts) if ts and repeats else ""
                    if key and key < seen:
                        continue
                    line = (batch.stream[i], batch.text[i])
                    if key == seen and delivered[line] > 0:
                        delivered[line] -= 1
                        continue
                    repeats = repeats and key == seen  # past the instant: nothing more can repeat
                    keep.append(i)
                if len(keep) != len(batch):
                    batch = batch.select(keep)
            held.extend(batch)
            since = since or time.monotonic()
            if (fd is not None and len(held) < API_BATCH and time.monotonic() - since < API_HOLD
                    and select.select([fd], [], [], 0)[0]):
                continue
            self._deliver(held)
            held, since = LineBatch(), 0.0
        self._deliver(held)

    # -- from the log file ----------------------------------------------------------------------------------

    def _file_readable(self, engine: Engine, current: Current) -> bool:
        # Podman says json-file but writes its own k8s-file format (`TIME stdout F text`): the API reads it.
        return (self.source == "file" and current.log_driver == "json-file" and bool(current.log_path)
                and engine.info.kind != "Podman"
                and current.id not in self._no_file and os.access(current.log_path, os.R_OK))

    def _close_file(self) -> None:
        if self._file is not None:
            self._file.log.close()
            self._file = None

    def _deliver(self, batch: LineBatch) -> None:
        if batch:
            self._count_last(batch)
            self.on_lines(batch)

    def _count_last(self, batch: LineBatch) -> None:
        """Keep last_ts and the lines delivered at it (notes have no timestamp: not counted). From the end
        back to the first line of another instant: a flood's batch is not walked whole."""
        last, trailing, whole = "", [], True
        for i in range(len(batch.ts) - 1, -1, -1):
            ts = batch.ts[i]
            if not ts:
                continue
            if last and ts != last:
                whole = False
                break
            last = ts
            trailing.append((batch.stream[i], batch.text[i]))
        if not last:
            return
        if last != self.last_ts or not whole:
            self.last_ts, self._at_last = last, Counter()
        self._at_last.update(trailing)

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
