"""What keeping history costs, without an engine: the history store's write path at N containers, its size
after a simulated 14 days, and the time to open a week's history view.

- write: the recorder's batches (N readings a second, written every 5 s, as HistoryRecorder does) into a
  store that already holds 14 days: process CPU seconds per 20 s of sampling, median of --runs runs. The
  dashboard's own CPU at the same N, side by side with and without history, is the stats benchmark's
  `skid-history` phase (`make bench`).
- size: 14 days at N = 10 written through the same write path, with the store's clock moved along and its
  prune run every simulated minute as the recorder runs it: 1 s readings for the last 2 hours and one
  reading every --stride seconds before (the same 1-minute and 15-minute rows either way, far quicker to
  write), then the file's size.
- open: the week's view of one service as `h` reads it (the summary and the series for the chart's
  columns, ops.history.load_view), then both charts drawn at 80 and 200 columns: median of --runs.

    .venv/bin/python benchmarks/history_bench.py            # prints, and writes its section of docs/performance.md
    .venv/bin/python benchmarks/history_bench.py --no-write
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from skid_tui.model.history import HistoryStore  # noqa: E402
from skid_tui.model.series import Mark, Reading  # noqa: E402
from skid_tui.ops.history import load_view  # noqa: E402
from skid_tui.stack import Budget, Location, Profile, ServiceSpec, Stack  # noqa: E402
from skid_tui.ui.widgets.history_chart import chart_columns, cpu_chart, memory_chart  # noqa: E402

MiB = 1024 * 1024
DAY = 86400
PROJECT = "skid-bench"
BEGIN = "<!-- history-bench:begin -->"
END = "<!-- history-bench:end -->"
TARGET_SIZE_MB = 100.0
TARGET_OPEN_MS = 200.0
TARGET_WRITE_SHARE = 0.05


def service(i: int) -> str:
    return f"svc{i:02d}"


def reading(i: int, t: float, rng: random.Random) -> Reading:
    # A service's working set with a daily swell and noise, as a real one wanders.
    base = (64 + 16 * i) * MiB
    mem = int(base * (1 + 0.3 * math.sin(t / DAY * 2 * math.pi + i)) + rng.randrange(4 * MiB))
    return Reading(PROJECT, service(i), f"{i:064x}", t, mem, rng.uniform(0.5, 30.0), rng.uniform(0, 5e4),
                   rng.uniform(0, 5e4), 5 + i)


def fill(store: HistoryStore, n: int, days: float, stride: int, *, now: float, clock: list[float]) -> int:
    """Write `days` of readings ending at `now`; returns how many were written."""
    rng = random.Random(1)
    start = now - days * DAY
    fine_from = now - 2 * 3600
    written = 0
    t = start
    batch: list[Reading] = []
    next_prune = start + 60
    while t < now:
        batch.extend(reading(i, t, rng) for i in range(n))
        step = 1 if t >= fine_from else stride
        t += step
        if len(batch) >= 50 * n or t >= now:
            clock[0] = t
            store.write(batch)
            written += len(batch)
            batch = []
        if t >= next_prune:
            clock[0] = t
            store.prune(t)
            next_prune = t + 60
    marks = [Mark(PROJECT, service(0), f"{0:064x}", now - d * DAY, "start", f"start:{d}") for d in range(1, 7)]
    store.write([], marks)
    store.prune(now)
    return written


def stack_of(n: int) -> Stack:
    where = Location("bench.yml", 1, 1)
    services = {service(i): ServiceSpec(service(i), where, image="x", budget=Budget((64 + 16 * i) * MiB,
                                                                                 (128 + 32 * i) * MiB, None, 1.0))
                for i in range(n)}
    return Stack(PROJECT, (Path("bench.yml"),), services, {"all": Profile("all", where, tuple(services))})


def cpu_now() -> float:
    return time.process_time()


def bench_size(workdir: Path, n: int, stride: int, now: float) -> tuple[HistoryStore, float, int, float]:
    clock = [now - 14 * DAY]
    store = HistoryStore(workdir / "history.sqlite3", clock=lambda: clock[0])
    store.open()
    started = time.monotonic()
    written = fill(store, n, 14, stride, now=now, clock=clock)
    took = time.monotonic() - started
    clock[0] = now
    return store, store.size_bytes() / 1e6, written, took


def bench_write(store: HistoryStore, n: int, now: float, runs: int, clock: list[float]) -> list[float]:
    """CPU seconds for 20 s of N readings a second, written as the recorder does (every 5 s)."""
    rng = random.Random(2)
    results = []
    t = now
    for _ in range(runs):
        before = cpu_now()
        for _batch in range(4):
            readings = [reading(i, t + s, rng) for s in range(5) for i in range(n)]
            store.write(readings)
            t += 5
            clock[0] = t
        results.append(cpu_now() - before)
    return results


def bench_open(store: HistoryStore, n: int, runs: int) -> tuple[list[float], list[float]]:
    stack = stack_of(n)
    reads, draws = [], []
    for r in range(runs):
        name = service(r % n)
        started = time.perf_counter()
        view = load_view(store, stack, name, "week", chart_columns(80))
        reads.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        for width in (80, 200):
            memory_chart(view, width, 10)
            cpu_chart(view, width, 7)
        draws.append((time.perf_counter() - started) * 1000)
    return reads, draws


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--stride", type=int, default=10, help="seconds between simulated readings before the last 2 h")
    ap.add_argument("--no-write", action="store_true", help="print only; leave docs/performance.md alone")
    ap.add_argument("--output", default=str(REPO / "docs" / "performance.md"))
    args = ap.parse_args(argv)
    now = float(int(time.time()) // 60 * 60)
    with tempfile.TemporaryDirectory(prefix="skid-history-bench-") as tmp:
        store, size_mb, written, took = bench_size(Path(tmp), 10, args.stride, now)
        print(f"history-bench: 14 days at N = 10: {written:,} readings written in {took:.0f} s, {size_mb:.1f} MB")
        clock = [now]
        store.clock = lambda: clock[0]
        reads, draws = bench_open(store, 10, args.runs)
        read_ms, draw_ms = statistics.median(reads), statistics.median(draws)
        print(f"history-bench: a week's view: read {read_ms:.1f} ms, drawn {draw_ms:.1f} ms (medians of {args.runs})")
        writes = {}
        for n in (10, 50):
            writes[n] = statistics.median(bench_write(store, n, now, args.runs, clock))
            print(f"history-bench: writing N = {n} for 20 s: {writes[n]:.3f} CPU-s (median of {args.runs})")
        store.close()
    lines = [
        BEGIN,
        "## History (`make bench`, history bench)",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} with `benchmarks/history_bench.py` (no engine; {args.runs} runs each).",
        "",
        "| measure | result | target |",
        "|---|---|---|",
        f"| size after a simulated 14 days at N = 10 | {size_mb:.1f} MB | under {TARGET_SIZE_MB:.0f} MB |",
        f"| opening a week's history view (read: summary + series) | {read_ms:.1f} ms median | "
        f"under {TARGET_OPEN_MS:.0f} ms |",
        f"| drawing its two charts at 80 and 200 columns | {draw_ms:.1f} ms median | |",
        f"| writing history, N = 10, per 20 s | {writes[10]:.3f} CPU-s median | |",
        f"| writing history, N = 50, per 20 s | {writes[50]:.3f} CPU-s median | see the stats bench's "
        "`skid-history` phase: under 5% of the dashboard's own |",
        "",
        f"The 14 days: {written:,} readings through the store's write path (1 s readings for the last 2 hours, one "
        f"every {args.stride} s before: the same 1-minute and 15-minute rows as one a second), the store's prune "
        f"every simulated minute as the recorder runs it. {took:.0f} s to write.",
        END,
    ]
    print("\n".join(lines))
    if not args.no_write:
        path = Path(args.output)
        text = path.read_text()
        if BEGIN in text:
            head, rest = text.split(BEGIN, 1)
            tail = rest.split(END, 1)[1]
            text = head + "\n".join(lines) + tail
        else:
            text = text.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n"
        path.write_text(text)
    ok = size_mb < TARGET_SIZE_MB and read_ms < TARGET_OPEN_MS
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
