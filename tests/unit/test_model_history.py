"""What the live model hands to the history: one reading per container sample (wall-clock times), each start
once, each OOM kill once with a key every process agrees on; and limits changed live move the budget marks."""

from __future__ import annotations

import time
from dataclasses import replace

from skid_tui.engine.client import EngineInfo
from skid_tui.engine.discovery import EngineCandidate
from skid_tui.engine.sampler import StatsBatch
from skid_tui.engine.stats import StatsSample
from skid_tui.engine.watcher import EngineStatus, ServiceUpdate
from skid_tui.model import HostMemory, LiveModel
from skid_tui.model.series import Mark, Reading
from tests.factories import NOW, GiB, MiB, container, demo_stack

INFO = EngineInfo("Docker Engine", "20.10", "1.41", "Debian", 8 * GiB, 2,
                  EngineCandidate("unix:///x.sock", "DOCKER_HOST"))


class Sink:
    def __init__(self) -> None:
        self.readings: list[Reading] = []
        self.marks: list[Mark] = []

    def add(self, reading: Reading) -> None:
        self.readings.append(reading)

    def mark(self, mark: Mark) -> None:
        self.marks.append(mark)


def sample(cid: str, mem: int, *, at: float, oom: int | None = None) -> StatsSample:
    return StatsSample(cid, at, mem, 512 * MiB, 3.0, 0, 0, 0, 0, 4, "cgroup", 10.0, 20.0, 1.0, oom)


def live(sink: Sink) -> LiveModel:
    stack = demo_stack()
    m = LiveModel(stack, stack.profiles["minimal"], host_memory=lambda: HostMemory(16 * GiB, 8 * GiB),
                  clock=lambda: NOW, history=sink)
    m.apply(EngineStatus("connected", info=INFO))
    return m


def test_every_sample_of_every_container_is_a_reading_at_its_wall_clock_time():
    sink = Sink()
    m = live(sink)
    pg1, pg2 = container("postgres"), container("postgres", number=2)
    m.apply(ServiceUpdate("postgres", (pg1, pg2)))
    taken = time.monotonic() - 2.0  # read two seconds ago
    m.apply(StatsBatch((sample(pg1.id, 200 * MiB, at=taken), sample(pg2.id, 210 * MiB, at=taken)), "cgroup"))
    assert [(r.service, r.container, r.mem_bytes) for r in sink.readings] == [
        ("postgres", pg1.id, 200 * MiB), ("postgres", pg2.id, 210 * MiB)]  # the replica too: budgets are per container
    r = sink.readings[0]
    assert r.project == "skid-demo" and (r.cpu_percent, r.net_rx_bps, r.net_tx_bps, r.pids) == (3.0, 10.0, 20.0, 4)
    assert abs(r.at - (NOW.timestamp() - 2.0)) < 0.5


def test_a_start_is_marked_once_by_its_start_time():
    sink = Sink()
    m = live(sink)
    pg = container("postgres")
    for _ in range(3):  # the same container reported again (health changes, a rename)
        m.apply(ServiceUpdate("postgres", (pg,)))
    restarted = replace(pg, started_at=NOW)
    m.apply(ServiceUpdate("postgres", (restarted,)))
    starts = [mk for mk in sink.marks if mk.kind == "start"]
    assert [mk.at for mk in starts] == [pg.started_at.timestamp(), NOW.timestamp()]
    assert len({mk.key for mk in starts}) == 2
    stopped = replace(pg, state="exited")
    m.apply(ServiceUpdate("postgres", (stopped,)))
    assert len([mk for mk in sink.marks if mk.kind == "start"]) == 2  # a stop is no start


def test_oom_kills_are_marked_by_the_kernels_count():
    sink = Sink()
    m = live(sink)
    pg = container("postgres")
    m.apply(ServiceUpdate("postgres", (pg,)))
    now = time.monotonic()
    m.apply(StatsBatch((sample(pg.id, 100 * MiB, at=now, oom=0),), "cgroup"))
    m.apply(StatsBatch((sample(pg.id, 100 * MiB, at=now + 1, oom=2),), "cgroup"))  # two kills since
    m.apply(StatsBatch((sample(pg.id, 100 * MiB, at=now + 2, oom=2),), "cgroup"))  # nothing new
    ooms = [mk for mk in sink.marks if mk.kind == "oom"]
    assert [mk.key for mk in ooms] == ["count:1", "count:2"] and all(mk.container == pg.id for mk in ooms)
    assert m.resources("postgres").oom_kills == 2


def test_an_oom_event_without_a_counter_is_marked_by_its_time():
    sink = Sink()
    m = live(sink)
    pg = container("postgres")
    m.apply(ServiceUpdate("postgres", (pg,), event="oom", at=NOW.timestamp()))
    [mark] = [mk for mk in sink.marks if mk.kind == "oom"]
    assert mark.key == f"event:{NOW.timestamp():.0f}" and mark.at == NOW.timestamp()


def test_limits_changed_live_move_the_marks_until_the_container_is_replaced():
    m = live(Sink())
    pg = container("postgres")
    m.apply(ServiceUpdate("postgres", (pg,)))
    m.apply(StatsBatch((sample(pg.id, 300 * MiB, at=time.monotonic()),), "cgroup"))
    assert m.resources("postgres").budget_state == "over_standard"  # 300 of 256/512
    m.set_live_limits(pg.id, 1024 * MiB, 384 * MiB, 1.0)
    r = m.resources("postgres")
    assert (r.mem_standard_bytes, r.mem_max_bytes, r.cpu_limit, r.budget_state) == (384 * MiB, 1024 * MiB, 1.0, "ok")
    recreated = container("postgres", number=3)
    m.apply(ServiceUpdate("postgres", (recreated,)))
    r = m.resources("postgres")
    assert (r.mem_standard_bytes, r.mem_max_bytes, r.cpu_limit) == (256 * MiB, 512 * MiB, 0.5)  # compose's again
