"""The sampler's choice of path per container, and its fallback to the API when cgroup reads fail."""

from __future__ import annotations

import time
from dataclasses import replace
from types import SimpleNamespace

import pytest

from skid_tui.engine import sampler as sampler_mod
from skid_tui.engine.agent import UNLIMITED, AgentError, Counters, parse_reading
from skid_tui.engine.client import EngineInfo
from skid_tui.engine.discovery import EngineCandidate
from skid_tui.engine.sampler import StatsSampler, fast_path_possible
from skid_tui.engine.stats import StatsSample
from tests.factories import container


class FakeEngine:
    def __init__(self, url: str = "unix:///run/docker.sock", kind: str = "Docker Engine") -> None:
        self.info = EngineInfo(kind, "20.10", "1.41", "Linux", 1 << 33, 2, EngineCandidate(url, "test"))


class Reader:
    def __init__(self, cid: str, paths, mem_total: int) -> None:
        self.cid = cid
        self.paths = paths
        self.fail = False
        self.closed = False

    def read(self) -> StatsSample:
        if self.fail:
            raise OSError(19, "No such device")
        return StatsSample(self.cid, 0.0, 1, 2, None, 0, 0, 0, 0, 1, "cgroup")

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def sampler(monkeypatch):
    streams: list[str] = []
    readers: dict[str, Reader] = {}

    def make(cid, paths, mem_total):
        readers[cid] = Reader(cid, paths, mem_total)
        return readers[cid]

    def locate(pid, cid):
        if cid.startswith("0"):
            raise LookupError("not in the container's cgroup")
        return SimpleNamespace(oom=None, version=1)  # no OOM counter: the OOM watch leaves it alone

    monkeypatch.setattr(sampler_mod, "CgroupReader", make)
    monkeypatch.setattr(sampler_mod, "locate", locate)
    monkeypatch.setattr(StatsSampler, "_start_stream", lambda self, cid, why: streams.append((cid, why)))
    s = StatsSampler(FakeEngine(), lambda batch: None)
    return s, streams, readers


def test_cgroup_reads_first_then_the_api_for_what_cannot_be_read(sampler):
    s, streams, readers = sampler
    good = replace(container("postgres"), id="a" * 64, pid=42)
    bad = replace(container("redis"), id="0" * 64, pid=43)
    s.track(good)
    s.track(bad)
    assert set(readers) == {good.id}
    assert streams == [(bad.id, "cgroup not readable: not in the container's cgroup")]
    batch = s.tick()
    assert [x.container_id for x in batch.samples] == [good.id] and batch.source == "cgroup"

    readers[good.id].fail = True  # the container's cgroup went away under us
    batch = s.tick()
    assert batch.samples == () and readers[good.id].closed
    assert streams[-1][0] == good.id and "cgroup read failed" in streams[-1][1]


def test_untrack_closes_the_reader(sampler):
    s, _, readers = sampler
    c = replace(container("postgres"), id="a" * 64, pid=42)
    s.track(c)
    s.untrack(c.id)
    assert readers[c.id].closed and s.tracked == set()


def test_no_fast_path_for_remote_engines_or_docker_desktop():
    assert fast_path_possible(FakeEngine("tcp://10.0.0.2:2376")) == "the engine is not on this machine"
    assert "VM" in fast_path_possible(FakeEngine(kind="Docker Desktop"))
    assert fast_path_possible(FakeEngine()) is None


def test_api_mode_never_reads_cgroups(monkeypatch):
    streams = []
    monkeypatch.setattr(StatsSampler, "_start_stream", lambda self, cid, why: streams.append(cid))
    s = StatsSampler(FakeEngine(), lambda batch: None, mode="api")
    s.track(replace(container("postgres"), pid=42))
    assert len(streams) == 1


class FakeAgent:
    """A StatsAgent that answers from a script: readings, or AgentError."""

    script: list = []  # what each read() answers: readings, or an AgentError to raise
    start_error: Exception | None = None
    started = 0

    def __init__(self, engine) -> None:
        self.stopped = False

    def start(self) -> None:
        FakeAgent.started += 1
        if FakeAgent.start_error is not None:
            raise FakeAgent.start_error

    def read(self, scan: bool = False):
        step = FakeAgent.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return step

    def stop(self) -> None:
        self.stopped = True


def counters(usage: int, cpu_ns: int) -> Counters:
    return Counters(usage, 0, None, cpu_ns, 3, (10, 20), 0)


@pytest.fixture
def agent_sampler(monkeypatch):
    streams: list[tuple[str, str]] = []
    FakeAgent.script, FakeAgent.started, FakeAgent.start_error = [], 0, None
    monkeypatch.setattr(sampler_mod, "StatsAgent", FakeAgent)
    monkeypatch.setattr(StatsSampler, "_start_stream", lambda self, cid, why: streams.append((cid, why)))
    return StatsSampler(FakeEngine(), lambda batch: None, mode="agent"), streams


def test_the_agent_path_makes_cpu_from_two_readings_and_hands_lost_containers_to_the_api(agent_sampler):
    s, streams = agent_sampler
    a, b = container("api").id, "b" * 64
    s.track(container("api"))
    s.track(replace(container("redis"), id=b))
    FakeAgent.script = [{a: counters(100, 0)}, {a: counters(120, 500_000_000)}, {a: counters(130, 600_000_000)},
                        {a: counters(130, 700_000_000)}]
    first = s.tick()
    assert first.source == "agent" and [x.mem_used for x in first.samples] == [100]
    assert first.samples[0].cpu_percent is None  # one reading: no CPU% yet
    time.sleep(0.2)
    second = s.tick()
    assert second.samples[0].cpu_percent is not None and second.samples[0].source == "agent"
    s.tick()  # the third reading without b: it goes to an API stream, saying why
    assert streams == [(b, "the stats agent cannot see its cgroup")] and b not in s._agent_ids
    assert s.tick().fallbacks == ((b, "the stats agent cannot see its cgroup"),)
    assert FakeAgent.started == 1


def test_an_agent_that_cannot_start_gives_every_container_to_the_api_with_the_reason(agent_sampler):
    s, streams = agent_sampler
    FakeAgent.start_error = AgentError("no busybox image for the stats agent")
    s.track(container("api"))
    assert s.tick().samples == ()
    why = "no busybox image for the stats agent"
    assert streams == [(container("api").id, why)]
    s.track(container("redis"))  # later containers go straight to a stream
    assert streams[-1] == (container("redis").id, why)


def test_an_agent_that_dies_is_restarted_a_few_times_then_given_up(agent_sampler):
    s, streams = agent_sampler
    s.track(container("api"))
    died = AgentError("the stats agent stopped: it ended")
    FakeAgent.script = [died] * (sampler_mod.AGENT_RESTARTS + 1)
    for _ in range(sampler_mod.AGENT_RESTARTS + 1):
        s.tick()
    assert FakeAgent.started == sampler_mod.AGENT_RESTARTS + 1
    assert streams == [(container("api").id, str(died))]


def test_an_agent_answer_line_is_parsed_and_damage_is_skipped():
    parse = parse_reading
    a, b = "a" * 64, "b" * 64
    line = (f"{a} 1000 200 max 5000 3 10 20 1;{b} 50 - 9223372036854771712 - - - - -;"
            f"short 1 2;{'c' * 64} x 1 1 1 1 1 1 1;")
    got = parse(line)
    assert set(got) == {a, b}
    assert got[a] == Counters(1000, 200, UNLIMITED, 5000, 3, (10, 20), 1)
    assert got[b] == Counters(50, 0, 9223372036854771712, None, None, None, None)
    assert parse("") == {}


class FakeStream:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


def payload(total_ns: int, system_ns: int, mem: int) -> dict:
    return {"read": "2026-12-07T10:00:00Z", "memory_stats": {"usage": mem, "limit": 1 << 30},
            "cpu_stats": {"cpu_usage": {"total_usage": total_ns}, "system_cpu_usage": system_ns, "online_cpus": 2},
            "precpu_stats": {}, "pids_stats": {"current": 1}}


def test_on_the_api_path_only_containers_on_screen_keep_a_stream(monkeypatch):
    started: list[str] = []

    def start(self, cid, why):
        started.append(cid)
        self._streams[cid] = FakeStream()

    monkeypatch.setattr(StatsSampler, "_start_stream", start)
    monkeypatch.setattr(StatsSampler, "_start_poller", lambda self: None)
    engine = FakeEngine()
    answers = {}
    engine.api = SimpleNamespace(stats=lambda cid, stream, one_shot: answers[cid])
    s = StatsSampler(engine, lambda batch: None, mode="api")
    a, b, c = (replace(container("api"), id=x * 64) for x in "abc")
    for x in (a, b, c):
        s.track(x)
    assert started == [a.id, b.id, c.id]
    streams = dict(s._streams)

    s.focus({a.id})  # b and c scrolled away: their streams close, a reading every POLL_INTERVAL instead
    assert set(s._streams) == {a.id} and streams[b.id].closed and streams[c.id].closed
    assert s.tracked == {a.id, b.id, c.id}
    answers[b.id] = payload(1_000_000_000, 100_000_000_000, 5 << 20)
    s._poll_one(b.id)
    answers[b.id] = payload(2_000_000_000, 110_000_000_000, 6 << 20)  # one CPU-second in 5 s of 2 CPUs
    s._poll_one(b.id)
    [got] = [x for x in s.tick().samples if x.container_id == b.id]
    assert got.mem_used == 6 << 20 and got.cpu_percent == pytest.approx(20.0)

    s.focus(None)  # all in view again: streams for b and c, nothing polled
    assert set(s._streams) == {a.id, b.id, c.id} and not s._polled
    assert s.tick().source == "api"
    s.untrack(c.id)
    s.focus(set())
    assert set(s._polled) == {a.id, b.id} and s.tick().source == "api"
