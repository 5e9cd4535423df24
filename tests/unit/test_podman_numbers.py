"""What Podman changes in skid's numbers: its own stats stream, the kernel's OOM counter, whole-second log
timestamps (no engine: payloads and batches as the engines send them)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from skid_tui.engine.cgroups import oom_kills
from skid_tui.engine.logs import follower as follower_mod
from skid_tui.engine.logs.follower import LogFollower
from skid_tui.engine.logs.lines import LineBatch
from skid_tui.engine.sampler import StatsBatch
from skid_tui.engine.stats import StatsSample, sample_from_libpod
from skid_tui.engine.watcher import ServiceUpdate
from skid_tui.ops.operations import Kind, compose_args
from skid_tui.ui.views import oom_text
from tests.factories import NOW, MiB, container
from tests.unit.test_model import model


def report(cpu_ns: int, wall_ns: int, **extra: int) -> dict:
    return {"CPUNano": cpu_ns, "SystemNano": wall_ns, "MemUsage": 40 * MiB, "MemLimit": 64 * MiB,
            "NetInput": extra.get("rx", 0), "NetOutput": extra.get("tx", 0), "PIDs": 2}


def test_podman_cpu_is_cpu_time_over_wall_time():
    first = sample_from_libpod(report(10_000_000_000, 1_000_000_000_000), None, 0.0, "c1")
    assert first.cpu_percent is None  # one reading: no rate yet
    # Half a CPU for a second: 0.5 s of CPU time in 1 s of wall time, whatever the host's busy time was.
    second = sample_from_libpod(report(10_500_000_000, 1_001_000_000_000, rx=1000), first, 1.0, "c1")
    assert second.cpu_percent == pytest.approx(50.0)
    assert second.cpu_window == pytest.approx(1.0)
    assert (second.mem_used, second.mem_limit, second.pids) == (40 * MiB, 64 * MiB, 2)
    assert second.net_rx_bps == pytest.approx(1000.0)


def test_the_kernel_oom_counter_of_both_cgroup_versions():
    assert oom_kills(b"oom_kill_disable 0\nunder_oom 0\noom_kill 3\n") == 3  # v1 memory.oom_control
    assert oom_kills(b"low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\noom_group_kill 0\n") == 2  # v2 memory.events
    assert oom_kills(b"oom_kill_disable 0\nunder_oom 0\n") is None  # a kernel before 4.13


def counted(mem: int, kills: int | None, cid: str = "c" * 64) -> StatsSample:
    return StatsSample(cid, 0.0, mem, 64 * MiB, 1.0, 0, 0, 0, 0, 3, "cgroup", oom_kills=kills)


def running_postgres(m):
    pg = container("postgres", up_for=timedelta(minutes=1))
    m.apply(ServiceUpdate("postgres", (pg,)))
    return pg


def test_a_kill_the_container_survives_is_counted_and_sticky():
    m = model()
    pg = running_postgres(m)
    m.apply(StatsBatch((counted(10 * MiB, 0, pg.id),), "cgroup"))
    assert m.resources("postgres").budget_state != "oom"
    m.apply(StatsBatch((counted(10 * MiB, 1, pg.id),), "cgroup"))
    m.apply(StatsBatch((counted(10 * MiB, 3, pg.id),), "cgroup"))
    r = m.resources("postgres")
    assert (r.budget_state, r.oom_kills, r.state) == ("oom", 3, "running")
    assert r.to_json()["oom_kills"] == 3
    assert oom_text(r).startswith("OOM-KILLED 3x, last ")


def test_kills_from_before_skid_watched_show_without_a_time():
    m = model()
    pg = running_postgres(m)
    m.apply(StatsBatch((counted(10 * MiB, 2, pg.id),), "cgroup"))
    r = m.resources("postgres")
    assert (r.budget_state, r.oom_kills, r.oom_time_known) == ("oom", 2, False)
    assert oom_text(r) == "OOM-KILLED 2x before skid watched"


def test_an_oom_event_and_the_counter_count_one_kill_once():
    m = model()
    pg = running_postgres(m)
    m.apply(StatsBatch((counted(10 * MiB, 0, pg.id),), "cgroup"))
    m.apply(ServiceUpdate("postgres", (pg,), event="oom", at=NOW.timestamp()))
    m.apply(StatsBatch((counted(10 * MiB, 1, pg.id),), "cgroup"))
    assert m.resources("postgres").oom_kills == 1


def test_a_137_exit_after_a_reading_at_the_limit_is_an_oom_kill_and_a_stop_is_not():
    for mem, oom in ((62 * MiB, True), (20 * MiB, False)):
        m = model()
        pg = running_postgres(m)
        m.apply(StatsBatch((counted(mem, None, pg.id),), "api"))
        m.apply(ServiceUpdate("postgres", (replace(pg, state="exited", exit_code=137),), event="die"))
        assert (m.resources("postgres").budget_state == "oom") is oom, mem


def test_podman_starts_recreate_nothing():
    assert compose_args(Kind.START, ("api",), no_recreate=True) == ("up", "-d", "--no-recreate", "api")
    assert compose_args(Kind.START, ("api",)) == ("up", "-d", "api")
    assert compose_args(Kind.STOP, ("api",), no_recreate=True) == ("stop", "api")


def pumped(follower: LogFollower, batches: list[LineBatch], monkeypatch) -> None:
    monkeypatch.setattr(follower_mod, "read_lines", lambda response, multiplexed: iter(batches))
    monkeypatch.setattr(follower_mod.dockerapi, "connection_fd", lambda response: None)
    follower._pump(None, True)


def lines(*pairs: tuple[str, str]) -> LineBatch:
    return LineBatch([ts for ts, _ in pairs], [text for _, text in pairs], bytearray([1] * len(pairs)))


def test_a_reopened_stream_on_whole_second_stamps_repeats_nothing_and_loses_nothing(monkeypatch):
    got = LineBatch()
    follower = LogFollower(lambda: None, lambda engine: None, got.extend)
    t1, t2, t3 = "2026-12-07T04:22:52Z", "2026-12-07T04:22:53Z", "2026-12-07T04:22:54Z"
    pumped(follower, [lines((t1, "1"), (t2, "2")), lines((t2, "3"))], monkeypatch)
    # The container restarted within second t2: the stream reopens at `since` t2 and sends its lines again,
    # then the new run's lines of that same second.
    pumped(follower, [lines((t2, "2"), (t2, "3")), lines((t2, "4"), (t3, "5"))], monkeypatch)
    assert got.text == ["1", "2", "3", "4", "5"]
    # Docker's nanosecond stamps: the repeat of the last line only.
    n1, n2 = "2026-12-07T04:22:55.100000000Z", "2026-12-07T04:22:55.200000000Z"
    pumped(follower, [lines((n1, "6"), (n2, "7"))], monkeypatch)
    pumped(follower, [lines((n2, "7"), (n2, "8"))], monkeypatch)
    assert got.text[5:] == ["6", "7", "8"]


def test_health_that_no_check_ever_ran_is_said_so():
    from skid_tui.engine.containers import snapshot_from_inspect
    from skid_tui.ui.views import unchecked

    doc = {"Id": "c" * 64, "Name": "/x", "Config": {"Labels": {}, "Healthcheck": {"Interval": 2_000_000_000,
                                                                                    "StartPeriod": 5_000_000_000}},
           "State": {"Status": "running", "StartedAt": (NOW - timedelta(seconds=30)).isoformat(),
                     "Health": {"Status": "starting", "Log": []}}}
    c = snapshot_from_inspect(doc)
    assert (c.health_checks, c.health_wait) == (0, 7.0)
    assert unchecked(c, NOW)  # due 7 s after the start, 30 s ago, none run: nothing runs them
    assert not unchecked(c, NOW - timedelta(seconds=15))  # 15 s in: still within its grace
    ran = replace(c, health_checks=1)
    assert not unchecked(ran, NOW)  # a check ran (and failed or not): health is the engine's word
    assert not unchecked(replace(c, health="healthy"), NOW)


def test_the_panel_says_no_check_has_run():
    from skid_tui.ui.views import service_view
    from tests.factories import demo_stack

    stack = demo_stack()
    waiting = replace(container("postgres", health="starting", up_for=timedelta(minutes=2)), health_checks=0)
    view = service_view(stack.services["postgres"], (waiting,), profile=None, engine_state="connected", now=NOW)
    assert (view.health, view.health_note) == ("starting", "no check has run")
    fresh = replace(waiting, started_at=NOW - timedelta(seconds=5))
    assert service_view(stack.services["postgres"], (fresh,), profile=None, engine_state="connected",
                        now=NOW).health_note == ""


def test_podman_image_names_read_as_compose_wrote_them():
    from skid_tui.ui.views import short_image

    assert short_image("docker.io/skid-demo/api:latest") == "skid-demo/api:latest"
    assert short_image("docker.io/library/postgres:16") == "postgres:16"
    assert short_image("ghcr.io/x/y:1") == "ghcr.io/x/y:1"


def test_a_start_podman_refused_mid_stop_is_tried_again_once(monkeypatch):
    from skid_tui.engine.compose_tool import ComposeCall, ComposeTool
    from skid_tui.ops import operations
    from skid_tui.ops.compose import ComposeResult, ComposeTarget
    from skid_tui.ops.operations import Operation, Progress, run_operation
    from tests.factories import demo_stack

    monkeypatch.setattr(operations, "TRANSITION_RETRY_DELAY", 0.01)
    refused = "Error response from daemon: container 1f must be in Created or Stopped state to be started: " \
              "container state improper"
    answers = [(1, refused), (0, "Container skid-demo-redis-1  Started")]
    calls: list[ComposeCall] = []

    def fake_run(call, on_line, cancel):
        calls.append(call)
        status, line = answers.pop(0)
        on_line(line)
        return ComposeResult(call, status, (line,), 0.1)

    monkeypatch.setattr(operations, "run", fake_run)
    target = ComposeTarget(demo_stack(), ComposeTool(("docker-compose",), "2.40.3"), no_recreate=True)
    shown: list[str] = []
    result = run_operation(Operation(Kind.START, ("redis",)), target, list, Progress(line=shown.append))
    assert result.ok and len(calls) == 2 and calls[0] == calls[1]
    assert refused in result.compose.lines and any("trying again" in line for line in shown)

    answers[:] = [(1, "no such image"), (0, "never")]  # any other failure is compose's last word
    calls.clear()
    result = run_operation(Operation(Kind.START, ("redis",)), target, list, Progress())
    assert not result.ok and len(calls) == 1


def test_a_line_podman_skipped_at_a_restart_comes_with_the_reopened_stream(monkeypatch):
    got = LineBatch()
    follower = LogFollower(lambda: None, lambda engine: None, got.extend)
    t1, t2, t3 = "2026-12-07T05:40:01Z", "2026-12-07T05:40:02Z", "2026-12-07T05:40:03Z"
    # Across the restart the old stream brought the new run's second line without its first...
    pumped(follower, [lines((t1, "run 2 line 48"), (t2, "run 3 line 2"))], monkeypatch)
    # ...the stream reopened at t2 has both: the first is new, the second a repeat.
    pumped(follower, [lines((t2, "run 3 line 1"), (t2, "run 3 line 2"), (t3, "run 3 line 3"))], monkeypatch)
    assert got.text == ["run 2 line 48", "run 3 line 2", "run 3 line 1", "run 3 line 3"]


def test_a_v2_memory_events_change_that_is_no_oom_costs_one_read(tmp_path):
    import os
    import time as clock

    from skid_tui.engine.oomwatch import OomWatch, _Watched

    events = tmp_path / "memory.events"
    events.write_bytes(b"low 0\nhigh 0\nmax 40\noom 0\noom_kill 0\n")
    kills: list[tuple[str, int]] = []
    watch = OomWatch(lambda cid, n: kills.append((cid, n)))
    fd = os.open(events, os.O_RDONLY)
    try:
        watched = _Watched("c1", fd, fd, 2, 0, 0)
        started = clock.monotonic()
        watch._notified(watched)  # `max` rose: the container is at its limit, not killed
        assert kills == [] and clock.monotonic() - started < 0.05
        events.write_bytes(b"low 0\nhigh 0\nmax 41\noom 1\noom_kill 1\n")
        watch._notified(watched)
        assert kills == [("c1", 1)] and (watched.count, watched.ooms) == (1, 1)
    finally:
        os.close(fd)
        watch.stop()
