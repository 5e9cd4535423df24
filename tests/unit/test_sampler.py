"""The sampler's choice of path per container, and its fallback to the API when cgroup reads fail."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest

from skid_tui.engine import sampler as sampler_mod
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
