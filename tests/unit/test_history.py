"""The history store (model.history): rollups, retention, the size bound, percentiles across the
resolution seams, two writers on one file, broken and unusable files, the legacy JSON import, the recorder.

The week of data is written through the real write path (HistoryStore.write: 1 s rows and the rollups
updated with them), but not at one sample a second for the whole week, which would be 600k rows per
container: the last 2 hours are one sample a second, the rest one every 20 to 80 seconds. So the 1-minute
rollups of the older part hold one or two samples each, the 15-minute ones about 18, and those of the last
2 hours 60 and 900.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import shutil
import sqlite3
import threading
import time
from collections import defaultdict
from pathlib import Path

import pytest

from skid_tui.model import history
from skid_tui.model.history import RETENTION, HistoryRecorder, HistoryStore
from skid_tui.model.series import Mark, Reading

MiB = 1024**2
DAY = 86400
NOW = 1_700_003_777.25  # on no minute or quarter-hour edge: the seams are not at round times
START = math.floor((NOW - 7 * DAY) / 900) * 900  # the week's data starts on a quarter-hour edge
RECENT = NOW - 2 * 3600  # one sample a second from here on
STREAMS = [("api", "api-1"), ("api", "api-2"), ("db", "db-1"), ("worker", "worker-old"), ("worker", "worker-new")]
WORKER_RECREATED = NOW - 3 * DAY  # worker-old runs before, worker-new after


# Every warning given while a test runs, as a front end would receive it (tests/unit/conftest.py).
pytestmark = pytest.mark.usefixtures("said")


def reading(service: str, container: str, at: float, mem: int, cpu: float | None = 1.0) -> Reading:
    return Reading("proj", service, container, at, mem, cpu, net_rx_bps=1000.0, net_tx_bps=2000.0, pids=7)


def week_readings() -> list[Reading]:
    rng = random.Random(7)
    out: list[Reading] = []
    for service, container in STREAMS:
        begin = START if container != "worker-new" else WORKER_RECREATED
        end = WORKER_RECREATED if container == "worker-old" else NOW
        base = {"api": 300, "db": 900, "worker": 150}[service] * MiB
        t = begin + rng.random()
        while t < min(end, RECENT):
            cpu = None if rng.random() < 0.02 else round(rng.uniform(0, 150), 3)  # now and then unknown
            out.append(reading(service, container, t, base + rng.randrange(200 * MiB), cpu))
            t += rng.randint(20, 80) + rng.random() * 0.5
        if end == NOW:
            for second in range(math.ceil(RECENT), math.floor(NOW) + 1):
                burst = 400 * MiB if rng.random() < 0.01 else 0  # rare spikes: p99 and max differ from p95
                out.append(reading(service, container, second + 0.125, base + rng.randrange(100 * MiB) + burst,
                                   round(rng.uniform(0, 100), 3)))
    return out


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Reading], float]:
    """A database holding the week (closed, so the WAL is folded in), its readings and the seconds the
    write took."""
    path = tmp_path_factory.mktemp("week") / "history.sqlite3"
    readings = week_readings()
    store = HistoryStore(path, clock=lambda: NOW)
    assert store.open()
    began = time.perf_counter()
    written = sum(store.write(readings[i:i + 500]) for i in range(0, len(readings), 500))
    took = time.perf_counter() - began
    store.close()
    assert written == len(readings)
    return path, readings, took


@pytest.fixture
def week_db(week: tuple[Path, list[Reading], float], tmp_path: Path) -> Path:
    """A copy of the week's database a test may change."""
    path = tmp_path / "history.sqlite3"
    shutil.copyfile(week[0], path)
    return path


def stored(path: Path) -> dict[tuple[int, str, int], tuple]:
    """(res, container, t) -> (n, mem_sum, mem_max, cpu_n, cpu_sum, cpu_max): the rows as they are on disk."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return {(res, container, t): rest for res, container, t, *rest in conn.execute(
            "SELECT s.res, c.container, s.t, s.n, s.mem_sum, s.mem_max, s.cpu_n, s.cpu_sum, s.cpu_max"
            " FROM samples s JOIN containers c ON c.id = s.cid")}


# -- rollups -------------------------------------------------------------------------------------------


def test_the_rollups_hold_the_count_mean_and_maximum_of_their_samples(week, week_db):
    _, readings, _ = week
    expected: dict[tuple[int, str, int], list] = {}
    for r in sorted(readings, key=lambda r: r.at):
        for res in (1, 60, 900):
            key = (res, r.container, math.floor(r.at) // res * res)
            e = expected.setdefault(key, [0, 0, 0, 0, 0.0, None])
            e[0] += 1
            e[1] += r.mem_bytes
            e[2] = max(e[2], r.mem_bytes)
            if r.cpu_percent is not None:
                e[3] += 1
                e[4] += r.cpu_percent
                e[5] = r.cpu_percent if e[5] is None else max(e[5], r.cpu_percent)
    rows = stored(week_db)
    assert rows.keys() == expected.keys()
    for key, (n, mem_sum, mem_max, cpu_n, cpu_sum, cpu_max) in rows.items():
        e = expected[key]
        assert (n, mem_sum / n, mem_max, cpu_n, cpu_max) == (e[0], e[1] / e[0], e[2], e[3], e[5]), key
        assert cpu_sum == pytest.approx(e[4], rel=1e-12), key
    # The data covers what the rollups are for: full minutes in the last 2 h, several samples per quarter.
    assert max(n for (res, _, _), (n, *_) in rows.items() if res == 60) == 60
    assert max(n for (res, _, _), (n, *_) in rows.items() if res == 900) == 900
    older = sorted(n for (res, _, t), (n, *_) in rows.items() if res == 900 and t < RECENT - 900)
    assert 10 <= older[len(older) // 2] <= 30


# -- percentiles and the seams -------------------------------------------------------------------------


def expected_summary(readings: list[Reading], service: str, since: float, until: float, now: float) -> dict:
    """The summary worked out from the samples: each sample counts as the mean of its bucket at the resolution
    the rule assigns to its time (1 s from the first minute edge within 2 h, 1 min from the first quarter-hour
    edge within 14 days, 15 min before; a range starting within 2 h is all 1 s), percentiles by nearest rank
    over the list of every sample's value. Only for ranges whose ends are on bucket edges."""
    seam_1 = math.ceil((now - RETENTION[1]) / 60) * 60
    seam_60 = math.ceil((now - RETENTION[60]) / 900) * 900

    def resolution(t: int) -> int:
        if since >= now - RETENTION[1] or t >= seam_1:
            return 1
        return 60 if since >= now - RETENTION[60] or t >= seam_60 else 900

    buckets: dict[tuple[str, int, int], list[Reading]] = defaultdict(list)
    for r in readings:
        t = math.floor(r.at)
        res = resolution(t)
        buckets[(r.container, res, t // res * res)].append(r)
    mem: list[float] = []
    cpu: list[float] = []
    inside = [r for r in readings if r.service == service and since <= r.at <= until]
    for r in inside:
        t = math.floor(r.at)
        res = resolution(t)
        bucket = buckets[(r.container, res, t // res * res)]
        mem.append(sum(b.mem_bytes for b in bucket) / len(bucket))
        if r.cpu_percent is not None:
            known = [b.cpu_percent for b in bucket if b.cpu_percent is not None]
            cpu.append(sum(known) / len(known))
    mem.sort()
    cpu.sort()

    def rank(values: list[float], p: int) -> float:
        return values[math.ceil(p * len(values) / 100) - 1]

    return {"samples": len(inside),
            "mem": [round(rank(mem, p)) for p in (50, 95, 99)] + [max(r.mem_bytes for r in inside)],
            "cpu": [rank(cpu, p) for p in (50, 95, 99)]
            + [max(r.cpu_percent for r in inside if r.cpu_percent is not None)]}


def check_summary(store: HistoryStore, readings: list[Reading], service: str, since: float, until: float, *,
                  now: float) -> None:
    want = expected_summary(readings, service, since, until, now)
    got = store.summary("proj", service, since, until)
    assert got.samples == want["samples"]
    assert [got.mem_p50, got.mem_p95, got.mem_p99, got.mem_max] == want["mem"]
    assert [got.cpu_p50, got.cpu_p95, got.cpu_p99, got.cpu_max] == pytest.approx(want["cpu"], rel=1e-9)


@pytest.mark.parametrize("service", ["api", "worker"])
def test_percentiles_across_the_two_hour_seam_count_every_sample_once(week, week_db, service):
    _, readings, _ = week
    store = HistoryStore(week_db, clock=lambda: NOW)
    since = math.floor((NOW - 3 * DAY - 3600) / 900) * 900  # a quarter-hour edge: no partial bucket at the start
    check_summary(store, readings, service, since, NOW, now=NOW)
    # The same range with no 15-minute rows in it: every sample of the service since then, no more, no fewer.
    assert store.summary("proj", service, since).samples == sum(
        1 for r in readings if r.service == service and r.at >= since)


def test_percentiles_across_the_fourteen_day_seam(week, week_db):
    """Ten days later, without pruning: the older half of the week is read from 15-minute rows, the newer
    half from 1-minute ones, and the 1 s rows (still there) are not used."""
    _, readings, _ = week
    later = NOW + 10 * DAY
    store = HistoryStore(week_db, clock=lambda: later)
    seam_60 = math.ceil((later - RETENTION[60]) / 900) * 900
    assert START < seam_60 < NOW - DAY  # the seam is inside the data
    for service in ("api", "db", "worker"):
        check_summary(store, readings, service, START, later, now=later)
        assert store.summary("proj", service, START, later).samples == sum(1 for r in readings if r.service == service)


def test_a_range_within_two_hours_reads_seconds_and_one_within_the_week_whole_minutes(week, week_db):
    _, readings, _ = week
    store = HistoryStore(week_db, clock=lambda: NOW)
    since = math.floor(NOW - 3600)  # 1 s rows only: exact to the second even off the minute edges
    check_summary(store, readings, "db", since + 17, NOW, now=NOW)
    # Off a second's edge, a range's ends take the rows whose bucket overlaps it: the whole first second.
    assert store.summary("proj", "db", since + 0.5).samples == sum(
        1 for r in readings if r.service == "db" and r.at >= since)
    # A day in the older part, from one quarter-hour edge to the next day's: 1-minute rows only, whole.
    since = math.floor((NOW - 5 * DAY) / 900) * 900
    until = since + DAY - 0.001
    summary = store.summary("proj", "api", since, until)
    assert summary.samples == sum(1 for r in readings if r.service == "api" and since <= r.at < since + DAY)
    check_summary(store, readings, "api", since, until, now=NOW)


def test_the_series_steps_hold_every_sample_and_say_their_resolution(week, week_db):
    _, readings, _ = week
    store = HistoryStore(week_db, clock=lambda: NOW)
    hour = store.series("proj", "api", NOW - 3600, points=60)
    assert (hour.resolution, hour.step, len(hour.points)) == (1, 60.0, 60)
    assert sum(p.samples for p in hour.points) == sum(1 for r in readings
                                                      if r.service == "api" and r.at >= math.floor(NOW - 3600))
    assert max(p.mem_max for p in hour.points) == max(r.mem_bytes for r in readings
                                                      if r.service == "api" and r.at >= NOW - 3600)
    days = store.series("proj", "worker", NOW - 6 * DAY, points=120)
    assert days.resolution == 60 and len(days.points) <= 120
    assert days.step == pytest.approx(6 * DAY / 120)
    since = NOW - 6 * DAY
    assert sum(p.samples for p in days.points) == sum(1 for r in readings if r.service == "worker"
                                                      and r.at >= math.floor(since / 60) * 60)
    older = HistoryStore(week_db, clock=lambda: NOW + 10 * DAY).series("proj", "db", START, points=30)
    assert older.resolution == 900


def test_export_rows_read_like_the_summary_ordered_by_time_then_service(week, week_db):
    _, readings, _ = week
    store = HistoryStore(week_db, clock=lambda: NOW)
    since = math.floor((NOW - DAY) / 900) * 900
    rows = list(store.export_rows("proj", since))
    assert sum(row["samples"] for row in rows) == sum(1 for r in readings if r.at >= since)
    assert {row["resolution"] for row in rows} == {60, 1}
    assert [(row["time"], row["service"]) for row in rows] == sorted((row["time"], row["service"]) for row in rows)
    assert set(rows[0]) == {"time", "resolution", "service", "container", "samples", "mem_avg", "mem_max", "cpu_avg",
                            "cpu_max", "net_rx_bps", "net_tx_bps", "pids_max"}
    assert (rows[-1]["net_rx_bps"], rows[-1]["net_tx_bps"], rows[-1]["pids_max"]) == (1000.0, 2000.0, 7)
    assert store.services("proj") == ["api", "db", "worker"]


# -- retention and the size bound ----------------------------------------------------------------------


def test_prune_drops_rows_past_their_retention_and_changes_no_summary(week, week_db):
    _, readings, _ = week
    store = HistoryStore(week_db, clock=lambda: NOW)
    since = math.floor((NOW - 3 * DAY) / 900) * 900
    before = store.summary("proj", "api", since)
    rows_before = stored(week_db)
    store.prune()
    rows = stored(week_db)
    assert min(t for res, _, t in rows if res == 1) >= NOW - 2 * 3600
    assert {k for k in rows if k[0] != 1} == {k for k in rows_before if k[0] != 1}
    assert store.summary("proj", "api", since) == before  # what prune removed was never read

    later = NOW + 15 * DAY
    HistoryStore(week_db, clock=lambda: later).prune()
    rows = stored(week_db)
    assert not [k for k in rows if k[0] == 1 and k[2] < later - RETENTION[1]]
    assert not [k for k in rows if k[0] == 60 and k[2] < later - RETENTION[60]]
    assert {k for k in rows if k[0] == 900} == {k for k in rows_before if k[0] == 900}
    assert HistoryStore(week_db, clock=lambda: later).summary("proj", "db", START, NOW).samples == sum(
        1 for r in readings if r.service == "db")  # a week ago, now from 15-minute rows alone


def test_prune_removes_marks_after_a_year_and_containers_with_no_rows_left(tmp_path):
    store = HistoryStore(tmp_path / "history.sqlite3", clock=lambda: NOW)
    store.write([reading("old", "gone", NOW - 400 * DAY, 1)],
                [Mark("proj", "old", "gone", NOW - 400 * DAY, "start", "a"), Mark("proj", "api", "c", NOW, "oom", "b")])
    assert store.services("proj") == ["api", "old"]
    store.prune()
    assert store.services("proj") == ["api"]
    assert store.marks("proj", "old", 0) == []


def test_over_the_size_bound_the_oldest_rows_go_first_and_the_file_shrinks(week_db):
    HistoryStore(week_db, clock=lambda: NOW).prune()  # retention first: what is left is all worth keeping
    size = HistoryStore(week_db, clock=lambda: NOW).size_bytes()
    before = stored(week_db)
    bound = size * 3 // 4
    store = HistoryStore(week_db, max_bytes=bound, clock=lambda: NOW)
    began = time.perf_counter()
    store.prune()
    took = time.perf_counter() - began
    assert store.size_bytes() <= bound
    store.close()
    assert os.path.getsize(week_db) <= bound  # incremental vacuum and the checkpoint gave the pages back
    after = stored(week_db)
    gone = before.keys() - after.keys()
    assert gone and after.keys() <= before.keys()
    # One cut in time over every resolution: the history is shorter, not patchy.
    assert max(t for _, _, t in gone) < min(t for _, _, t in after)
    assert {res for res, _, _ in gone} == {60, 900}  # the rollups, oldest first; every 1 s row kept
    assert {k for k in before if k[0] == 1} <= after.keys()
    assert took < 2.0


def test_the_database_is_created_with_incremental_auto_vacuum_and_wal(tmp_path):
    store = HistoryStore(tmp_path / "history.sqlite3")
    assert store.open()
    with contextlib.closing(sqlite3.connect(tmp_path / "history.sqlite3")) as conn:
        assert conn.execute("PRAGMA auto_vacuum").fetchone() == (2,)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


# -- two writers ---------------------------------------------------------------------------------------


def short_run(n: int = 600) -> list[Reading]:
    return [reading("api", f"c{i % 2}", NOW - n + i // 2 + 0.5, 100 + i, float(i % 13)) for i in range(n)]


def test_two_stores_writing_the_same_readings_count_them_once(tmp_path):
    path = tmp_path / "history.sqlite3"
    first, second = HistoryStore(path, clock=lambda: NOW), HistoryStore(path, clock=lambda: NOW)
    readings = short_run()
    assert first.write(readings) == len(readings)
    rows = stored(path)
    summary = first.summary("proj", "api", NOW - 3600)
    assert second.write(readings) == 0
    assert stored(path) == rows
    assert second.summary("proj", "api", NOW - 3600) == summary
    assert summary.samples == len(readings)


def test_two_stores_writing_at_once_count_each_second_once(tmp_path):
    path = tmp_path / "history.sqlite3"
    readings = short_run(2000)
    stores = [HistoryStore(path, clock=lambda: NOW) for _ in range(2)]
    for store in stores:
        store.open()
    counts: list[int] = []

    def write_all(store: HistoryStore) -> None:
        counts.append(sum(store.write(readings[i:i + 50]) for i in range(0, len(readings), 50)))
        store.close()

    threads = [threading.Thread(target=write_all, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sum(counts) == len(readings)
    rows = stored(path)
    assert sum(n for (res, _, _), (n, *_) in rows.items() if res == 60) == len(readings)
    assert HistoryStore(path, clock=lambda: NOW).summary("proj", "api", NOW - 3600).samples == len(readings)


def test_marks_are_recorded_once_and_counted(tmp_path):
    path = tmp_path / "history.sqlite3"
    first, second = HistoryStore(path, clock=lambda: NOW), HistoryStore(path, clock=lambda: NOW)
    started = Mark("proj", "api", "c1", NOW - 100, "start", "2023-11-14T22:00:00Z")
    restarted = Mark("proj", "api", "c1", NOW - 50, "start", "2023-11-14T22:01:00Z")
    killed = Mark("proj", "api", "c1", NOW - 51, "oom", "3")
    first.write([], [started, killed])
    second.write([], [started, killed, restarted])
    assert second.marks("proj", "api", NOW - 3600) == [started, killed, restarted]
    summary = first.summary("proj", "api", NOW - 3600)
    assert (summary.oom_kills, summary.restarts) == (1, 1)  # the first start of a container is no restart
    assert first.services("proj") == ["api"]


# -- broken and unusable files -------------------------------------------------------------------------


def one_line(said: list[str]) -> str:
    assert len(said) == 1, said
    assert "\n" not in said[0]
    return said[0]


def asides(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if ".bad-" in p.name)


def test_a_file_that_is_not_a_database_is_moved_aside_with_its_wal(tmp_path, said):
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"this is not SQLite\n" * 100)
    Path(f"{path}-wal").write_bytes(b"nor is this")
    store = HistoryStore(path, clock=lambda: NOW)
    assert store.open()
    line = one_line(said)
    assert "file is not a database" in line and "moved aside as history.sqlite3.bad-" in line
    moved = asides(tmp_path)
    assert f"{moved[0]}-wal" in moved[1:]
    assert (tmp_path / moved[0]).read_bytes() == b"this is not SQLite\n" * 100
    assert store.write(short_run(10)) == 10
    assert store.summary("proj", "api", NOW - 3600).samples == 10


def test_moving_aside_never_replaces_an_earlier_one(tmp_path, monkeypatch, said):
    monkeypatch.setattr(time, "strftime", lambda fmt, *args: "20240101T000000")
    path = tmp_path / "history.sqlite3"
    earlier = tmp_path / "history.sqlite3.bad-20240101T000000"
    earlier.write_bytes(b"the earlier one")
    path.write_bytes(b"garbage" * 200)
    assert HistoryStore(path).open()
    assert earlier.read_bytes() == b"the earlier one"
    assert (tmp_path / "history.sqlite3.bad-20240101T000000-2").read_bytes() == b"garbage" * 200
    assert "history.sqlite3.bad-20240101T000000-2" in one_line(said)


def test_a_database_found_broken_on_a_write_is_moved_aside_and_the_write_goes_to_a_new_one(tmp_path, said):
    path = tmp_path / "history.sqlite3"
    setup = HistoryStore(path, clock=lambda: NOW)
    setup.write(short_run(400))
    setup.close()
    with contextlib.closing(sqlite3.connect(path)) as conn:
        (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'samples'").fetchone()
        (page_size,) = conn.execute("PRAGMA page_size").fetchone()
    store = HistoryStore(path, clock=lambda: NOW)
    assert store.open() and not said  # the samples table is not read on open
    with open(path, "r+b") as f:  # the table's root page overwritten behind the store's back
        f.seek((root - 1) * page_size)
        f.write(b"\xff" * page_size)
    assert store.write(short_run(10)) == 10
    assert "malformed" in one_line(said)
    assert [name for name in asides(tmp_path) if not name.endswith(("-wal", "-shm"))] == [
        one_line(said).split("moved aside as ")[1].split(",")[0]]
    assert store.summary("proj", "api", NOW - 3600).samples == 10


def test_a_broken_file_another_skid_has_open_is_left_to_it(tmp_path, said):
    """Moving a database aside under another process would let its connections delete the new file's WAL
    (SQLite removes NAME-wal by name when it closes): the second skid waits until the first lets go."""
    path = tmp_path / "history.sqlite3"
    first = HistoryStore(path, clock=lambda: NOW)
    assert first.open()
    path.write_bytes(b"garbage" * 200)
    second = HistoryStore(path, clock=lambda: NOW)
    assert second.open() is False and second.working
    assert "in use" in one_line(said) and not asides(tmp_path)
    with pytest.raises(sqlite3.OperationalError):  # the recorder keeps its batch for later
        second.write(short_run(10))
    first.close()
    assert second.open()
    assert "moved aside" in said[-1] and asides(tmp_path)
    assert second.write(short_run(10)) == 10


def test_a_write_that_finds_the_database_locked_raises_for_the_caller_to_retry(tmp_path, monkeypatch):
    monkeypatch.setattr(history, "BUSY_TIMEOUT_MS", 20)
    path = tmp_path / "history.sqlite3"
    store = HistoryStore(path, clock=lambda: NOW)
    store.open()
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        store.write(short_run(10))
    store.prune()  # skipped quietly: the next one does it
    blocker.execute("ROLLBACK")
    blocker.close()
    assert store.write(short_run(10)) == 10


def check_no_op(store: HistoryStore) -> None:
    """Every public method works, and does nothing, on a store that gave up."""
    assert store.write(short_run(10), [Mark("proj", "api", "c", NOW, "oom", "1")]) == 0
    store.prune()
    assert store.size_bytes() == 0
    summary = store.summary("proj", "api", NOW - 3600)
    assert (summary.samples, summary.mem_p95, summary.oom_kills) == (0, None, 0)
    assert store.series("proj", "api", NOW - 3600).points == ()
    assert store.services("proj") == []
    assert store.marks("proj", "api", 0) == []
    assert list(store.export_rows("proj", 0)) == []
    store.observe_peaks("proj", {"api": (1, NOW)})
    assert store.recorded_peaks("proj") == {}
    store.set_profile("proj", "small")
    assert store.profile("proj") is None
    recorder = HistoryRecorder(store, flush_every=0.01)
    recorder.start()
    recorder.add(short_run(1)[0])
    recorder.stop()
    store.close()
    assert store.open() is False


def test_a_directory_that_cannot_be_created_makes_a_no_op_store(tmp_path, said):
    (tmp_path / "state").write_text("a file where the state dir should be")
    store = HistoryStore(tmp_path / "state" / "history.sqlite3", clock=lambda: NOW)
    assert store.open() is False
    assert "skid keeps no history this run" in one_line(said)
    check_no_op(store)
    assert len(said) == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to a read-only directory")
def test_a_read_only_directory_makes_a_no_op_store(tmp_path, said):
    tmp_path.chmod(0o500)
    try:
        store = HistoryStore(tmp_path / "history.sqlite3", clock=lambda: NOW)
        assert store.open() is False
        one_line(said)
        check_no_op(store)
    finally:
        tmp_path.chmod(0o700)


def test_a_directory_in_the_database_s_place_is_left_alone(tmp_path, said):
    (tmp_path / "history.sqlite3").mkdir()
    store = HistoryStore(tmp_path / "history.sqlite3", clock=lambda: NOW)
    assert store.open() is False
    assert "a directory" in one_line(said)
    assert (tmp_path / "history.sqlite3").is_dir() and not asides(tmp_path)
    check_no_op(store)


def test_a_file_skid_cannot_open_is_left_alone(tmp_path, monkeypatch, said):
    path = tmp_path / "history.sqlite3"
    HistoryStore(path).open()
    real = sqlite3.connect

    def denied(*args, **kwargs):
        raise sqlite3.OperationalError("unable to open database file")  # what SQLite says to EACCES

    monkeypatch.setattr(sqlite3, "connect", denied)
    store = HistoryStore(path, clock=lambda: NOW)
    assert store.open() is False
    assert "left as it is" in one_line(said)
    monkeypatch.setattr(sqlite3, "connect", real)
    assert path.exists() and not asides(tmp_path)


def test_when_not_even_a_new_database_can_be_made_the_store_gives_up(tmp_path, monkeypatch, said):
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"garbage" * 200)
    real = sqlite3.connect

    def only_once(*args, **kwargs):
        if asides(tmp_path):  # moved aside: the directory turned read-only meanwhile
            raise sqlite3.OperationalError("attempt to write a readonly database")
        return real(*args, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", only_once)
    store = HistoryStore(path, clock=lambda: NOW)
    assert store.open() is False
    assert len(said) == 2 and "moved aside" in said[0] and "a new history could not be started" in said[1]
    check_no_op(store)


# -- peaks and the active profile ----------------------------------------------------------------------


def test_peaks_and_profiles_are_imported_from_the_json_files_once(tmp_path, said):
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    peaks = legacy / "peaks.json"
    profiles = legacy / "active-profile.json"
    peaks.write_text('{"proj": {"api": {"peak_mem_bytes": 300, "at": 1.0}, "db": {"peak_mem_bytes": 900}}}')
    profiles.write_text('{"proj": "laptop-small"}')
    path = tmp_path / "history.sqlite3"
    store = HistoryStore(path, legacy_dir=legacy)
    assert store.recorded_peaks("proj") == {"api": 300, "db": 900}
    assert store.profile("proj") == "laptop-small"
    store.observe_peaks("proj", {"api": (200, 5.0), "db": (1000, 6.0), "new": (5, 7.0)})  # the higher one wins
    assert store.recorded_peaks("proj") == {"api": 300, "db": 1000, "new": 5}
    store.set_profile("proj", "laptop-big")
    store.close()
    # Newer JSON is not imported again, and the database's values are not overwritten by the files'.
    peaks.write_text('{"proj": {"api": {"peak_mem_bytes": 9999, "at": 1.0}}, "other": {}}')
    again = HistoryStore(path, legacy_dir=legacy)
    assert again.recorded_peaks("proj") == {"api": 300, "db": 1000, "new": 5}
    assert again.profile("proj") == "laptop-big"
    assert profiles.read_text() == '{"proj": "laptop-small"}'  # the files are read, never written
    assert not said


def test_peaks_from_two_stores_keep_the_highest(tmp_path):
    path = tmp_path / "history.sqlite3"
    first, second = HistoryStore(path), HistoryStore(path)
    first.observe_peaks("proj", {"api": (500, 1.0)})
    second.observe_peaks("proj", {"api": (400, 2.0)})
    assert first.recorded_peaks("proj") == second.recorded_peaks("proj") == {"api": 500}


# -- the recorder --------------------------------------------------------------------------------------


def test_the_recorder_writes_what_was_added_and_stop_flushes_it(tmp_path):
    path = tmp_path / "history.sqlite3"
    recorder = HistoryRecorder(HistoryStore(path, clock=lambda: NOW), flush_every=0.02, prune_every=0.05)
    recorder.start()
    readings = short_run(100)
    for r in readings[:50]:
        recorder.add(r)
    time.sleep(0.1)  # some written by a flush, some pruned around, the rest at stop
    for r in readings[50:]:
        recorder.add(r)
    recorder.mark(Mark("proj", "api", "c0", NOW - 10, "oom", "1"))
    recorder.stop()
    reader = HistoryStore(path, clock=lambda: NOW)
    summary = reader.summary("proj", "api", NOW - 3600)
    assert (summary.samples, summary.oom_kills) == (100, 1)


def test_the_recorder_keeps_a_batch_while_the_database_is_locked(tmp_path, monkeypatch, said):
    monkeypatch.setattr(history, "BUSY_TIMEOUT_MS", 20)
    path = tmp_path / "history.sqlite3"
    HistoryStore(path).open()
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process in a long write transaction
    recorder = HistoryRecorder(HistoryStore(path, clock=lambda: NOW), flush_every=0.02)
    recorder.start()
    for r in short_run(40):
        recorder.add(r)
    time.sleep(0.2)  # several flushes find it locked
    blocker.execute("ROLLBACK")
    blocker.close()
    recorder.stop()
    assert HistoryStore(path, clock=lambda: NOW).summary("proj", "api", NOW - 3600).samples == 40
    assert not said


def test_the_week_was_written_quickly_enough(week):
    _, readings, took = week
    assert took / len(readings) < 100e-6  # per reading, 1 s row and two rollups; in batches of 500
