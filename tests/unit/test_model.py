"""The live model: budget states, peaks across restarts, sticky OOM, totals, the stop hint, the JSON."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import timedelta

import pytest

from skid_tui.engine.client import EngineInfo
from skid_tui.engine.discovery import EngineCandidate
from skid_tui.engine.sampler import StatsBatch
from skid_tui.engine.stats import StatsSample
from skid_tui.engine.watcher import EngineStatus, ServiceUpdate
from skid_tui.model import HostMemory, LiveModel, PeakStore, budget_state, cpu_fraction
from skid_tui.model.history import HistoryStore
from skid_tui.stack import Budget
from tests.factories import NOW, GiB, MiB, container, demo_stack

INFO = EngineInfo("Docker Engine", "20.10", "1.41", "Debian", 8 * GiB, 2,
                  EngineCandidate("unix:///x.sock", "DOCKER_HOST"))


@pytest.mark.parametrize(
    ("used", "budget", "oom", "state"),
    [
        (100 * MiB, Budget(256 * MiB, 512 * MiB), False, "ok"),
        (256 * MiB, Budget(256 * MiB, 512 * MiB), False, "over_standard"),
        (460 * MiB, Budget(256 * MiB, 512 * MiB), False, "over_standard"),  # just under 90% of 512 MiB
        (461 * MiB, Budget(256 * MiB, 512 * MiB), False, "near_max"),
        (10 * MiB, Budget(256 * MiB, 512 * MiB), True, "oom"),
        (10 * MiB, Budget(), False, "no_budget"),
        (None, Budget(256 * MiB, 512 * MiB), False, None),
        (300 * MiB, Budget(mem_max=512 * MiB), False, "ok"),  # no standard: only the maximum matters
        (300 * MiB, Budget(mem_standard=256 * MiB), False, "over_standard"),
    ],
)
def test_budget_states(used, budget, oom, state):
    assert budget_state(used, budget, oom) == state


def test_cpu_against_the_cpus_limit():
    assert cpu_fraction(25.0, 0.5) == 0.5
    assert cpu_fraction(25.0, None) is None
    assert cpu_fraction(None, 0.5) is None


def sample(cid: str, mem: int, cpu: float | None = 1.0, at: float = 0.0) -> StatsSample:
    return StatsSample(cid, at, mem, 512 * MiB, cpu, 0, 0, 0, 0, 3, "cgroup", 10.0, 20.0)


class Host:
    def __init__(self, total=16 * GiB, available=12 * GiB):
        self.memory = HostMemory(total, available)

    def __call__(self):
        return self.memory


def model(tmp_path=None, host=None) -> LiveModel:
    stack = demo_stack()
    peaks = PeakStore(HistoryStore(tmp_path / "history.sqlite3")) if tmp_path else None
    m = LiveModel(stack, stack.profiles["minimal"], peaks=peaks, host_memory=host or Host(), clock=lambda: NOW)
    m.apply(EngineStatus("connected", info=INFO))
    return m


def test_samples_reach_the_service_and_its_peak_survives_a_restart(tmp_path):
    m = model(tmp_path)
    pg = container("postgres")
    m.apply(ServiceUpdate("postgres", (pg,)))
    assert m.apply(StatsBatch((sample(pg.id, 200 * MiB, None),), "cgroup")) == {"postgres"}
    m.apply(StatsBatch((sample(pg.id, 300 * MiB, 12.5),), "cgroup"))
    r = m.resources("postgres")
    assert (r.mem_bytes, r.cpu_percent, r.peak_mem_bytes, r.budget_state) == (300 * MiB, 12.5, 300 * MiB,
                                                                             "over_standard")
    assert r.mem_history == (200 * MiB, 300 * MiB) and r.cpu_history == (0.0, 12.5)
    assert (r.mem_standard_bytes, r.mem_max_bytes, r.cpu_limit) == (256 * MiB, 512 * MiB, 0.5)

    # A new container for the same service (recreated): the peak is the service's, kept.
    pg2 = replace(container("postgres"), id="f" * 64)
    m.apply(ServiceUpdate("postgres", (pg2,)))
    m.apply(StatsBatch((sample(pg2.id, 100 * MiB),), "cgroup"))
    r = m.resources("postgres")
    assert (r.mem_bytes, r.peak_mem_bytes) == (100 * MiB, 300 * MiB)
    assert r.mem_history == (100 * MiB,)  # the sparkline is of the container shown

    m.peaks.save()
    assert HistoryStore(tmp_path / "history.sqlite3").recorded_peaks("skid-demo") == {"postgres": 300 * MiB}
    assert PeakStore(HistoryStore(tmp_path / "history.sqlite3")).recorded("skid-demo", "postgres") == 300 * MiB
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".json") == []  # no peaks.json written


def test_peak_store_keeps_the_highest_of_two_writers(tmp_path):
    # Two skids (the dashboard, `skid monitor`) on one database: each save keeps the higher peak.
    path = tmp_path / "history.sqlite3"
    a, b = PeakStore(HistoryStore(path)), PeakStore(HistoryStore(path))
    assert a.recorded("proj", "api") is None  # a has read the project once, before b's peaks
    a.observe("proj", "api", 500)
    b.observe("proj", "api", 300)
    b.observe("proj", "redis", 10)
    a.save()
    b.save()
    fresh = PeakStore(HistoryStore(path))
    assert fresh.recorded("proj", "api") == 500 and fresh.recorded("proj", "redis") == 10
    assert b.recorded("proj", "api") == 500  # b's first read came after a's save
    assert a.recorded("proj", "api") == 500 and a.recorded("proj", "redis") is None  # a's own, and its one read
    b.observe("proj", "redis", 20)
    a.observe("proj", "redis", 15)
    b.save()
    a.save()
    assert HistoryStore(path).recorded_peaks("proj") == {"api": 500, "redis": 20}


def test_the_peaks_observed_are_recorded_before_they_are_saved(tmp_path):
    store = HistoryStore(tmp_path / "history.sqlite3")
    store.observe_peaks("proj", {"api": (400, 1.0)})
    peaks = PeakStore(store)
    peaks.observe("proj", "api", 300)
    peaks.observe("proj", "db", 50)
    assert (peaks.recorded("proj", "api"), peaks.recorded("proj", "db")) == (400, 50)  # the store's, then one's own
    peaks.observe("proj", "api", 600)
    assert peaks.recorded("proj", "api") == 600
    assert store.recorded_peaks("proj") == {"api": 400}  # observe writes nothing
    peaks.save()
    assert store.recorded_peaks("proj") == {"api": 600, "db": 50}


def test_a_stopped_service_shows_its_last_peak_and_no_numbers():
    m = model()
    pg = container("postgres")
    m.apply(ServiceUpdate("postgres", (pg,)))
    m.apply(StatsBatch((sample(pg.id, 220 * MiB),), "cgroup"))
    m.apply(ServiceUpdate("postgres", (replace(pg, state="exited"),), event="die"))
    r = m.resources("postgres")
    assert not r.running and r.mem_bytes is None and r.budget_state is None
    assert r.peak_mem_bytes == 220 * MiB
    assert m.totals().mem_bytes == 0  # a stopped container uses nothing


def test_oom_is_sticky_until_the_container_starts_again():
    m = model()
    pg = container("postgres", up_for=timedelta(minutes=1))
    m.apply(ServiceUpdate("postgres", (pg,)))
    m.apply(ServiceUpdate("postgres", (pg,), event="oom", at=NOW.timestamp()))
    assert m.resources("postgres").budget_state == "oom"
    dead = replace(pg, state="exited", exit_code=137, oom_killed=True)
    m.apply(ServiceUpdate("postgres", (dead,), event="die"))
    r = m.resources("postgres")
    assert r.budget_state == "oom" and r.oom_at is not None
    restarted = replace(pg, started_at=NOW + timedelta(seconds=5), state="running", oom_killed=False)
    m.apply(ServiceUpdate("postgres", (restarted,), event="start"))
    assert m.resources("postgres").oom_at is None


def test_oom_from_inspect_alone():
    m = model()
    dead = container("redis", state="exited", exit_code=137, oom=True)
    m.apply(ServiceUpdate("redis", (dead,)))
    assert m.resources("redis").budget_state == "oom"


def test_totals_and_the_stop_hint():
    host = Host(total=16 * GiB, available=2 * GiB)  # 87.5% used
    m = model(host=host)
    for name, mem in (("postgres", 200 * MiB), ("api", 150 * MiB), ("llm-advisor", 1200 * MiB)):
        c = container(name)
        m.apply(ServiceUpdate(name, (c,)))
        m.apply(StatsBatch((sample(c.id, mem),), "cgroup"))
    t = m.totals()
    assert t.mem_bytes == 1550 * MiB and t.host_budget == 6 * GiB and t.engine_mem_total == 8 * GiB
    assert t.running == 3
    # Not in the active profile (minimal) first, largest first: the LLM advisor, then the API.
    assert t.hint == ("host memory 88% used: stopping llm-advisor (1.17 GiB), api (150 MiB), postgres (200 MiB) "
                      "would free 1.51 GiB")
    host.memory = HostMemory(16 * GiB, 8 * GiB)
    m.apply(StatsBatch((), "cgroup"))
    assert m.totals().hint is None


def test_monitor_json_has_every_documented_key():
    m = model()
    c = container("redis")
    m.apply(ServiceUpdate("redis", (c,)))
    m.apply(StatsBatch((sample(c.id, 100 * MiB, 3.14159),), "cgroup"))
    doc = m.to_json()
    row = next(r for r in doc["services"] if r["service"] == "redis")
    assert set(row) >= {"service", "container", "state", "cpu_percent", "cpu_limit", "mem_bytes", "mem_limit_bytes",
                        "mem_standard_bytes", "mem_max_bytes", "budget_state", "peak_mem_bytes", "net_rx_bps",
                        "net_tx_bps", "pids"}
    assert row["cpu_percent"] == 3.14 and row["container"] == c.short_id and row["budget_state"] == "ok"
    assert doc["totals"]["mem_bytes"] == 100 * MiB and doc["totals"]["host_budget_bytes"] == 6 * GiB
    assert doc["engine"] == {"mem_total_bytes": 8 * GiB, "stats_source": "cgroup", "state": "connected",
                             "endpoint": "unix:///x.sock"}
    assert set(doc["host"]) == {"mem_total_bytes", "mem_available_bytes"}
    json.dumps(doc)


def test_complete_needs_a_cpu_reading_for_every_running_service():
    m = model()
    c = container("redis")
    m.apply(ServiceUpdate("redis", (c,)))
    m.apply(StatsBatch((sample(c.id, 1, None),), "cgroup"))
    assert not m.complete()
    m.apply(StatsBatch((sample(c.id, 1, 0.5, at=time.monotonic()),), "cgroup"))
    assert m.complete()


def test_engine_loss_clears_live_numbers():
    m = model()
    c = container("redis")
    m.apply(ServiceUpdate("redis", (c,)))
    m.apply(StatsBatch((sample(c.id, 100 * MiB),), "cgroup"))
    m.apply(EngineStatus("lost"))
    assert m.totals().mem_bytes == 0 and not m.resources("redis").running


def test_reports_wait_for_a_full_second_of_cpu_time():
    m = model()
    c = container("redis")
    m.apply(ServiceUpdate("redis", (c,)))
    quick = replace(sample(c.id, 1, 0.5), cpu_window=0.25)
    m.apply(StatsBatch((quick,), "cgroup"))
    assert m.complete() and not m.complete(min_cpu_window=0.9)
    m.apply(StatsBatch((replace(quick, cpu_window=1.0),), "cgroup"))
    assert m.complete(min_cpu_window=0.9)


def test_idle_timeout_runs_only_while_an_on_demand_service_stays_idle():
    m = model()  # minimal: llm-advisor on demand, idle timeout 600 s
    llm, pg = container("llm-advisor"), container("postgres")
    m.apply(ServiceUpdate("llm-advisor", (llm,)))
    m.apply(ServiceUpdate("postgres", (pg,)))
    m.apply(StatsBatch((sample(llm.id, 1200 * MiB, 15.0, at=0.0), sample(pg.id, 1, 0.0, at=0.0)), "cgroup"))
    assert m.idle_since == {}  # loading its model: busy; postgres is not on demand
    m.apply(StatsBatch((sample(llm.id, 1200 * MiB, 0.3, at=10.0),), "cgroup"))
    assert m.idle_since == {"llm-advisor": 10.0}
    assert m.idle_expired(now=600.0) == []
    [(service, idle_for, mem)] = m.idle_expired(now=610.0)
    assert (service, idle_for, mem) == ("llm-advisor", 600.0, 1200 * MiB)
    m.apply(StatsBatch((sample(llm.id, 1200 * MiB, 40.0, at=20.0),), "cgroup"))  # asked something: busy again
    assert m.idle_expired(now=700.0) == []
    m.apply(ServiceUpdate("llm-advisor", (replace(llm, state="exited"),), event="die"))
    assert "llm-advisor" not in m.idle_since


def test_remembered_profile_per_project(tmp_path, monkeypatch):
    from skid_tui.model.active import remember_profile, remembered_profile
    from skid_tui.ops.config import active_profile

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))  # a state dir of its own: nothing remembered yet
    stack = demo_stack()
    assert remembered_profile(stack.project) is None
    remember_profile(stack.project, "llm")
    remember_profile("other", "app")
    assert remembered_profile(stack.project) == "llm" and remembered_profile("other") == "app"
    remember_profile("other", "dev")  # a switch replaces it
    assert remembered_profile("other") == "dev" and remembered_profile(stack.project) == "llm"
    assert HistoryStore.default().profile(stack.project) == "llm"  # in the history database
    assert not (tmp_path / "skid-tui" / "active-profile.json").exists()  # not in the old file
    assert active_profile(stack, None, remembered_profile(stack.project)).name == "llm"
    assert active_profile(stack, "app", "llm").name == "app"  # --profile overrides
    assert active_profile(stack, None, "gone").name == "minimal"
