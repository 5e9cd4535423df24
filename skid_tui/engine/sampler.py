"""Samples every running container once a second: cgroup reads where possible, else an API stream each;
or, with `--stats agent`, one reading of every container by the stats agent in the engine (agent.py).

One tick thread reads the cgroup files of every container it can (or asks the agent) and collects what the
API streams delivered since the last tick, then hands one batch to its listener: one message per second for
the UI, however many containers there are. A container whose cgroup read fails falls back to an API stream.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from skid_tui.engine import dockerapi
from skid_tui.engine.agent import AgentError, StatsAgent
from skid_tui.engine.cgroups import UNLIMITED, CgroupReader, counters_sample, locate
from skid_tui.engine.client import ENGINE_ERRORS, Engine
from skid_tui.engine.containers import ContainerSnapshot
from skid_tui.engine.oomwatch import OomWatch
from skid_tui.engine.stats import StatsSample, sample_from_api, sample_from_libpod

StatsMode = Literal["auto", "cgroup", "api", "agent"]
FIRST_READING_GAP = 0.25  # seconds between a new container's first two readings: enough for a CPU%
AGENT_MISSES = 3  # readings (each after a scan) without a container before it goes to an API stream
AGENT_RESTARTS = 3  # an agent that keeps dying is given up for API streams
# Off-screen containers on the API path: a single reading this often instead of a stream each. A stream
# makes the engine read the container every second; the totals and peaks only need a recent number.
POLL_INTERVAL = 10.0
POLL_THREADS = 4


@dataclass(frozen=True)
class StatsBatch:
    """The samples of one tick, and which paths produced them."""

    samples: tuple[StatsSample, ...]
    source: str  # the paths joined by "+" ("cgroup", "agent", "api", "cgroup+api"...), or "none" when nothing runs
    fallbacks: tuple[tuple[str, str], ...] = ()  # (container id, why its cgroup could not be read)
    at: float = field(default_factory=time.monotonic)


def fast_path_possible(engine: Engine) -> str | None:
    """Why cgroup reads cannot work with this engine, or None when they may."""
    cand = engine.info.candidate
    if not (cand.url or "").startswith("unix://"):
        return "the engine is not on this machine"
    if engine.info.kind == "Docker Desktop":
        return "Docker Desktop runs containers in its VM"
    return None


class StatsSampler:
    def __init__(
        self,
        engine: Engine,
        listener: Callable[[StatsBatch], None],
        *,
        mode: StatsMode = "auto",
        interval: float = 1.0,
    ) -> None:
        self.engine = engine
        self.listener = listener
        self.mode = mode
        self.interval = interval
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._kicked = threading.Event()
        self._kick_delay = 0.0
        self._kick_then: float | None = None  # a follow-up tick this long after the kicked one
        self._readers: dict[str, CgroupReader] = {}
        self._streams: dict[str, dockerapi.Stream | None] = {}  # container id -> its open API stream
        self._latest: dict[str, StatsSample] = {}  # API samples not yet handed over
        self._fallbacks: dict[str, str] = {}
        self._no_fast_path = fast_path_possible(engine) if mode in ("auto", "cgroup") else f"{mode} path chosen"
        # The agent path: container id -> readings in a row the agent did not have it.
        self._agent_ids: dict[str, int] = {}
        self._agent_prev: dict[str, StatsSample] = {}
        self._agent_scan = False
        self._agent: StatsAgent | None = None
        self._agent_failed: str | None = None  # why the agent cannot be used (then API streams)
        self._agent_restarts = 0
        # The API path's focus: the containers on screen get streams, the rest a reading every POLL_INTERVAL.
        self._focus: set[str] | None = None  # None: all of them
        self._polled: dict[str, StatsSample | None] = {}  # off-screen container id -> its last reading
        self._api_last: dict[str, StatsSample] = {}  # the last API reading of each: a CPU% across a switch
        self._poll_wake = threading.Event()
        self._poller: threading.Thread | None = None
        self._libpod = engine.info.kind == "Podman"
        self._oom_watch: OomWatch | None = None  # started with the first cgroup reader

    # -- which containers -----------------------------------------------------------------------------

    def track(self, container: ContainerSnapshot) -> None:
        """Start sampling a running container (idempotent). Blocking: call from the watcher's thread."""
        cid = container.id
        with self._lock:
            if self._stopped.is_set() or cid in self._readers or cid in self._streams or cid in self._agent_ids:
                return
            if self.mode == "agent" and self._agent_failed is None:
                self._agent_ids[cid] = 0
                self._agent_scan = True
                return
        why = self._agent_failed if self.mode == "agent" else self._no_fast_path
        if why is None:
            try:
                reader = CgroupReader(cid, locate(container.pid, cid), self.engine.info.mem_total)
            except (OSError, LookupError, ValueError) as exc:
                why = f"cgroup not readable: {exc}"
            else:
                with self._lock:
                    self._readers[cid] = reader
                    watch = self._oom_watch = self._oom_watch or OomWatch(self._oom_killed)
                watch.add(cid, reader.paths)
                return
        if self.mode == "cgroup":
            with self._lock:
                self._fallbacks[cid] = why
            return
        self._stream_or_poll(cid, why)

    def untrack(self, container_id: str) -> None:
        with self._lock:
            reader = self._readers.pop(container_id, None)
            stream = self._streams.pop(container_id, None)
            self._agent_ids.pop(container_id, None)
            self._agent_prev.pop(container_id, None)
            self._polled.pop(container_id, None)
            self._api_last.pop(container_id, None)
            self._latest.pop(container_id, None)
            self._fallbacks.pop(container_id, None)
        if reader is not None:
            reader.close()
        if stream is not None:
            _close(stream)
        if self._oom_watch is not None:
            self._oom_watch.remove(container_id)

    def _oom_killed(self, cid: str, count: int) -> None:
        """The OOM watch saw a kill (on its thread): a sample with the new count goes with the next tick, now,
        even when the kill ended the container and its cgroup is gone by then."""
        with self._lock:
            reader = self._readers.get(cid)
            base = reader.previous if reader is not None else None
            if base is None:
                return
            self._latest[cid] = replace(base, at=time.monotonic(), oom_kills=count)
        self.kick(0.0, then=None)

    @property
    def tracked(self) -> set[str]:
        with self._lock:
            return (set(self._readers) | set(self._streams) | set(self._fallbacks) | set(self._agent_ids)
                    | set(self._polled))

    # -- the tick loop --------------------------------------------------------------------------------

    def run(self) -> None:
        """Tick until stop(): read, hand over one batch, sleep until the next second."""
        if self.mode == "agent":
            self._agent_start()  # while the watcher lists the containers, not after
        next_tick = time.monotonic()
        followup: float | None = None
        while not self._stopped.is_set():
            self._kicked.clear()
            self.listener(self.tick())
            now = time.monotonic()
            if followup is not None:
                next_tick, followup = now + followup, None
            else:
                next_tick += self.interval
                if next_tick < now:  # fell behind (a suspended laptop): do not catch up in a burst
                    next_tick = now + self.interval
            if self._kicked.wait(next_tick - now):
                self._stopped.wait(self._kick_delay)
                followup = self._kick_then
                next_tick = time.monotonic()

    def kick(self, delay: float = 0.0, then: float | None = FIRST_READING_GAP) -> None:
        """Containers were added: tick after `delay` (their memory, on screen at once), then again `then`
        seconds later (a second reading: their CPU%), then at the usual rhythm. Also for an OOM kill or an
        API stream's first CPU% (then=None: no follow-up)."""
        self._kick_delay = delay
        self._kick_then = then
        self._kicked.set()

    def tick(self) -> StatsBatch:
        with self._lock:
            readers = list(self._readers.items())
            api = list(self._latest.values())
            self._latest.clear()
            agent_wanted = bool(self._agent_ids)
        samples: list[StatsSample] = []
        for cid, reader in readers:
            try:
                samples.append(reader.read())
            except (OSError, ValueError) as exc:
                # The cgroup went away or cannot be read: let the API say what it knows.
                self._demote(cid, reader, f"cgroup read failed: {exc}")
        if agent_wanted:
            samples.extend(self._agent_tick())
        samples.extend(api)
        with self._lock:
            kinds = "+".join(kind for kind, on in (("cgroup", self._readers), ("agent", self._agent_ids),
                                                   ("api", self._streams or self._polled)) if on)
            fallbacks = tuple(self._fallbacks.items())
        return StatsBatch(tuple(samples), kinds or "none", fallbacks)

    # -- the agent path -------------------------------------------------------------------------------

    def _agent_tick(self) -> list[StatsSample]:
        """One reading of every agent-sampled container; the agent is started (or restarted) here."""
        if self._stopped.is_set() or (self._agent is None and not self._agent_start()):
            return []
        assert self._agent is not None
        with self._lock:
            scan, self._agent_scan = self._agent_scan, False
        try:
            readings = self._agent.read(scan=scan)
        except AgentError as exc:
            self._agent_gone(str(exc), restart=True)
            return []
        wall = time.monotonic_ns()
        at = time.monotonic()
        mem_total = self.engine.info.mem_total
        samples = []
        lost: list[str] = []
        with self._lock:
            for cid in list(self._agent_ids):
                c = readings.get(cid)
                if c is None:
                    # Its cgroup appeared after the last look, or the agent cannot see it at all.
                    self._agent_ids[cid] += 1
                    self._agent_scan = True
                    if self._agent_ids[cid] >= AGENT_MISSES:
                        lost.append(cid)
                    continue
                self._agent_ids[cid] = 0
                sample, keep = counters_sample(
                    cid, at, wall, self._agent_prev.get(cid), usage=c.usage, inactive=c.inactive,
                    limit=c.limit if c.limit is not None else UNLIMITED, cpu_ns=c.cpu_ns or 0, pids=c.pids or 0,
                    net=c.net, oom=c.oom_kills, mem_total=mem_total, source="agent")
                if keep:
                    self._agent_prev[cid] = sample
                samples.append(sample)
            for cid in lost:
                del self._agent_ids[cid]
                self._agent_prev.pop(cid, None)
        self._hand_to_api(lost, "the stats agent cannot see its cgroup")
        return samples

    def _agent_start(self) -> bool:
        """Start the agent (blocking); False when it cannot be (its containers go to API streams)."""
        agent = StatsAgent(self.engine)
        try:
            agent.start()
        except AgentError as exc:
            self._agent_gone(str(exc), restart=False)
            return False
        with self._lock:
            if self._stopped.is_set():
                agent.stop()
                return False
            self._agent = agent
        return True

    def _agent_gone(self, why: str, restart: bool) -> None:
        """The agent failed to start or stopped answering: start another next tick, or (at its first start,
        or after a few restarts) give its containers to API streams, saying why."""
        agent, self._agent = self._agent, None
        if agent is not None:
            agent.stop()
        self._agent_restarts += 1
        if restart and self._agent_restarts <= AGENT_RESTARTS:
            with self._lock:
                self._agent_scan = True
            return
        with self._lock:
            self._agent_failed = why
            moved = list(self._agent_ids)
            self._agent_ids.clear()
            self._agent_prev.clear()
        self._hand_to_api(moved, why)

    def _hand_to_api(self, cids: list[str], why: str) -> None:
        """Containers the agent cannot sample: to the API path, the reason shown as a fallback."""
        for cid in cids:
            self._stream_or_poll(cid, why)
            with self._lock:
                self._fallbacks[cid] = why

    def stop(self) -> None:
        self._stopped.set()
        self._kicked.set()
        self._poll_wake.set()
        with self._lock:
            readers, streams = list(self._readers.values()), list(self._streams.values())
            self._readers.clear()
            self._streams.clear()
        for r in readers:
            r.close()
        for s in streams:
            _close(s)
        if self._oom_watch is not None:
            self._oom_watch.stop()
        with self._lock:
            agent, self._agent = self._agent, None
        if agent is not None:
            agent.stop()

    # -- the API path ---------------------------------------------------------------------------------

    def _demote(self, cid: str, reader: CgroupReader, why: str) -> None:
        with self._lock:
            if self._readers.get(cid) is not reader:
                return
            del self._readers[cid]
        reader.close()
        if self.mode == "cgroup":
            with self._lock:
                self._fallbacks[cid] = why
            return
        self._stream_or_poll(cid, why)

    # -- the API path's focus -------------------------------------------------------------------------

    def focus(self, container_ids: set[str] | None) -> None:
        """The containers on screen (None: all): those on the API path keep their streams, the others are
        read once every POLL_INTERVAL instead. Cheap and thread-safe: the dashboard calls it as it scrolls."""
        with self._lock:
            if container_ids == self._focus:
                return
            self._focus = None if container_ids is None else set(container_ids)
            hide = [cid for cid in self._streams if not self._in_focus(cid)]
            show = [cid for cid in self._polled if self._in_focus(cid)]
            closing = [self._streams.pop(cid) for cid in hide]
            for cid in hide:
                self._polled[cid] = self._api_last.get(cid)
            for cid in show:
                del self._polled[cid]
        for stream in closing:
            _close(stream)
        for cid in show:
            self._start_stream(cid, None)
        if hide:
            self._start_poller()
            self._poll_wake.set()  # those that never had a reading get one now

    def _in_focus(self, cid: str) -> bool:
        return self._focus is None or cid in self._focus

    def _stream_or_poll(self, cid: str, why: str | None) -> None:
        with self._lock:
            polled = not self._in_focus(cid)
            if polled:
                self._polled.setdefault(cid, None)
                if why and self.mode == "auto" and self._no_fast_path is None:
                    self._fallbacks[cid] = why
        if polled:
            self._start_poller()
            self._poll_wake.set()  # its first number now, not in ten seconds
        else:
            self._start_stream(cid, why)

    def _start_poller(self) -> None:
        with self._lock:
            if self._poller is not None or self._stopped.is_set():
                return
            self._poller = threading.Thread(target=self._poll_loop, name="skid-stats-poll", daemon=True)
        self._poller.start()

    def _poll_loop(self) -> None:
        """Every POLL_INTERVAL (or when a container is added), one reading of each off-screen container, a
        few at a time: the engine takes a second to answer each."""
        with ThreadPoolExecutor(POLL_THREADS, thread_name_prefix="skid-stats-poll") as pool:
            while not self._stopped.is_set():
                with self._lock:
                    due = [cid for cid, last in self._polled.items()
                           if last is None or time.monotonic() - last.at >= POLL_INTERVAL - 0.5]
                list(pool.map(self._poll_one, due))
                self._poll_wake.wait(POLL_INTERVAL / 2)
                self._poll_wake.clear()

    def _poll_one(self, cid: str) -> None:
        with self._lock:
            if cid not in self._polled or self._stopped.is_set():
                return
            previous = self._polled[cid]
        try:
            if self._libpod:
                answer = dockerapi.get_json(self.engine.api, "/libpod/containers/stats",
                                            params={"containers": cid, "stream": False})
                reports = answer.get("Stats") or ()
                sample = sample_from_libpod(reports[0], previous, time.monotonic(), cid) if reports else None
            else:
                # one-shot: the engine's current numbers, not a second reading a second later.
                answer = self.engine.api.stats(cid, stream=False, one_shot=True)
                sample = sample_from_api(answer, previous, time.monotonic(), cid)
        except ENGINE_ERRORS:
            return  # gone, or the engine went away: the watcher hears it from the events
        if sample is None:
            return
        with self._lock:
            if cid in self._polled:
                self._polled[cid] = self._api_last[cid] = self._latest[cid] = sample

    def _start_stream(self, cid: str, why: str | None) -> None:
        with self._lock:
            if self._stopped.is_set() or cid in self._streams:
                return
            self._streams[cid] = None  # reserved: the thread opens it
            if why and self.mode == "auto" and self._no_fast_path is None:
                self._fallbacks[cid] = why
        threading.Thread(target=self._follow_stream, args=(cid,), name=f"skid-stats-{cid[:12]}", daemon=True).start()

    def _follow_stream(self, cid: str) -> None:
        api = self.engine.api
        with self._lock:
            previous = self._api_last.get(cid)  # a poll's (or an earlier stream's): a CPU% from the first payload
        stream: dockerapi.Stream | None = None
        try:
            # docker-py's stats() gives a bare generator that cannot be closed from another thread.
            if self._libpod:
                # Podman's compatible stream reads every 5 s and misreads CPU (engine.stats says why).
                response = dockerapi.open_stream(api, "GET", "/libpod/containers/stats",
                                                 params={"containers": cid, "stream": True, "interval": 1})
            else:
                response = dockerapi.open_stream(api, "GET", "/containers/{0}/stats", cid, params={"stream": True})
            payloads = json_lines(response) if response.raw.chunked else dockerapi.json_stream(api, response)
            stream = dockerapi.Stream(payloads, response)
            with self._lock:
                if cid not in self._streams or self._stopped.is_set():
                    _close(stream)
                    return
                self._streams[cid] = stream
            for payload in stream:
                if self._libpod:
                    reports = payload.get("Stats") or ()
                    if not reports:
                        break  # gone or stopped (Podman says so with an empty report): the events say which
                    sample = sample_from_libpod(reports[0], previous, time.monotonic(), cid)
                else:
                    sample = sample_from_api(payload, previous, time.monotonic(), cid)
                if sample is None:
                    continue  # a stopped container's zero payload: the events stream will untrack it
                first = previous is None
                first_complete = sample.cpu_percent is not None and (previous is None or previous.cpu_percent is None)
                previous = sample
                with self._lock:
                    if cid not in self._streams:
                        break
                    self._latest[cid] = self._api_last[cid] = sample
                if first_complete or first:
                    # Its first memory figure, then its first CPU%: each on screen now, not at the next
                    # tick (the short delay gathers the other streams' payloads into the same tick).
                    self.kick(0.05, then=None)
        except ENGINE_ERRORS:
            pass  # the engine went away or the container is gone: the watcher hears it from the events
        except Exception as exc:  # a thread's traceback would scribble over the dashboard
            with self._lock:
                self._fallbacks[cid] = f"stats stream failed: {type(exc).__name__}: {exc}"
        finally:
            # Forget this stream (ended by itself or never opened), but never a newer one for the same id.
            with self._lock:
                if cid in self._streams and self._streams[cid] in (None, stream):
                    del self._streams[cid]


def json_lines(response: Any) -> Iterator[dict[str, Any]]:
    """The stats stream's documents, one per line, decoded straight from the HTTP chunks.

    docker-py's generic stream decoder re-scans a growing text buffer for every document; with one
    stream per container this lean reader keeps the API path's client cost near the CLI's.
    """
    buffer = b""
    for chunk in response.raw.read_chunked(decode_content=False):
        buffer += chunk
        while (end := buffer.find(b"\n")) >= 0:
            line, buffer = buffer[:end], buffer[end + 1 :]
            if line.strip():
                yield json.loads(line)


def _close(stream: dockerapi.Stream | None) -> None:
    if stream is not None:  # None: reserved, and its thread has not opened it yet
        stream.close()
