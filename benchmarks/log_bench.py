"""Log pane throughput: one million lines from a container's logs into a dashboard pane, end to end.

On the private engine (DOCKER_HOST) a busybox container prints 1,000,000 lines as fast as it can; the real
dashboard runs headless in this process with that service's log pane open (before the container starts,
so every line is new). Measured, each run:
- lines/s: 1,000,000 / (moment the last line is in the pane's buffer - moment the container started);
  also from the first line to the last, which leaves out the container's start;
- memory: this process's RSS just before the flood and its peak during it (growth must stay under 50 MB);
- responsiveness: a key is pressed every 50 ms during the flood; the time from its press to its handler.
Results go to docs/performance.md, in their own section (the stats benchmark writes the rest).

    make bench                       # runs this after the stats benchmark
    python benchmarks/log_bench.py [--lines N] [--runs R] [--no-write]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import psutil  # noqa: E402
from textual import events  # noqa: E402

from skid_tui.engine.discovery import engine_candidates  # noqa: E402
from skid_tui.model import LiveModel  # noqa: E402
from skid_tui.stack import load_stack  # noqa: E402
from skid_tui.ui.app import SkidApp  # noqa: E402
from skid_tui.ui.widgets.log_view import LogPane  # noqa: E402

REPORT = REPO / "docs" / "performance.md"
BEGIN, END = "<!-- log-bench -->", "<!-- /log-bench -->"
COMPOSE = """\
services:
  flood:
    image: skid-demo/base:latest
    init: true
    # Lines shaped like a service's request log (about 60 characters), as fast as busybox prints them.
    command:
      - sh
      - -c
      - "seq 1 {lines} | sed 's/^/2026-11-27 12:00:00 INFO api: request handled, id=/'; exec sleep 2147483647"
"""
PROJECT = "skid-logbench"


class BenchApp(SkidApp):
    """The real dashboard, plus a key whose handler records how long after its press it ran."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.latencies: list[float] = []
        self.pressed_at: dict[int, float] = {}

    def on_key(self, event: events.Key) -> None:
        if event.key == "f12":
            sent = self.pressed_at.pop(id(event), None)
            if sent is not None:
                self.latencies.append(time.monotonic() - sent)


def compose(path: Path, *args: str) -> None:
    binary = REPO / ".venv" / "bin" / "docker-compose"
    subprocess.run([str(binary), "-p", PROJECT, "-f", str(path), *args], check=True, capture_output=True)


async def one_run(path: Path, lines: int) -> dict[str, float]:
    stack = load_stack([str(path)], None, project_name=PROJECT)
    app = BenchApp(stack, stack.profiles["default"], engine_candidates, stats="cgroup",
                   model=LiveModel(stack, None, peaks=None))
    me = psutil.Process(os.getpid())
    async with app.run_test(size=(160, 48)) as pilot:
        while app.engine_status.state != "connected":
            await pilot.pause(0.05)
        app.query_one("#svc-flood").focus()
        await pilot.press("l")
        await pilot.pause(0.5)
        pane = app.query_one("#pane-logs-flood-body", LogPane)
        rss_before = me.memory_info().rss
        peak = [rss_before]
        done = threading.Event()

        def watch_rss() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], me.memory_info().rss)
                time.sleep(0.05)

        threading.Thread(target=watch_rss, daemon=True).start()
        started = time.monotonic()
        await asyncio.to_thread(compose, path, "up", "-d", "flood")
        first_line = None
        deadline = started + 120
        while pane.buffer.total < lines and time.monotonic() < deadline:
            if first_line is None and pane.buffer.total:
                first_line = time.monotonic()
            key = events.Key("f12", None)
            app.pressed_at[id(key)] = time.monotonic()
            app.post_message(key)
            await asyncio.sleep(0.05)
        finished = time.monotonic()
        done.set()
        await pilot.pause(0.2)
        total = pane.buffer.total
        kept = len(pane.buffer.lines)
        last = pane.buffer.lines[-1].text if kept else ""
    await asyncio.to_thread(compose, path, "down", "-t", "1")
    if total < lines:
        raise SystemExit(f"log bench: only {total:,} of {lines:,} lines arrived in 120 s")
    lat = sorted(app.latencies)
    return {
        "lines": total,
        "kept": kept,
        "seconds": finished - started,
        "rate": total / (finished - started),
        "rate_from_first": total / (finished - (first_line or started)),
        "rss_before_mb": rss_before / 1024**2,
        "rss_growth_mb": (peak[0] - rss_before) / 1024**2,
        "keys": len(lat),
        "key_median_ms": statistics.median(lat) * 1000 if lat else float("nan"),
        "key_max_ms": lat[-1] * 1000 if lat else float("nan"),
        "last_ok": float(last.endswith(f"id={lines}")),
    }


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory = psutil.virtual_memory().total / 1024**3
    return f"{cpu}, {os.cpu_count()} cores, {memory:.1f} GiB, Linux {platform.release()}"


def report(runs: list[dict[str, float]], lines: int, wall: float) -> str:
    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    rows = "\n".join(
        f"| {i + 1} | {r['seconds']:.2f} | {r['rate']:,.0f} | {r['rate_from_first']:,.0f} | {r['rss_growth_mb']:.1f} "
        f"| {r['key_median_ms']:.1f} | {r['key_max_ms']:.1f} | {int(r['keys'])} |"
        for i, r in enumerate(runs)
    )
    rate_ok = med("rate") >= 100_000
    rss_ok = max(r["rss_growth_mb"] for r in runs) <= 50
    key_ok = max(r["key_max_ms"] for r in runs) <= 100
    verdict = lambda ok: "**met**" if ok else "**not met**"  # noqa: E731
    return f"""{BEGIN}
## Log pane throughput

Written by `benchmarks/log_bench.py` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC ({wall:.0f} s), on {machine()}.
A busybox container prints {lines:,} lines of about 60 characters (`seq | sed`); the dashboard runs headless
in the benchmark's process with that service's log pane open and in view, following the container's
log stream through the Engine API (json-file log driver). Timed from `compose up` to the last line in the
pane's buffer, so the container's own start and the engine's logging are inside the figure. A key is
posted every 50 ms during the flood; its latency is press to handler. The pane keeps the newest 100,000
lines.

| run | seconds | lines/s, end to end | from first line | RSS growth MB | key median ms | key max ms | keys |
|---:|---:|---:|---:|---:|---:|---:|---:|
{rows}

Medians: **{med('rate'):,.0f} lines/s** end to end ({med('rate_from_first'):,.0f} from the first line),
RSS growth {med('rss_growth_mb'):.1f} MB (at most {max(r['rss_growth_mb'] for r in runs):.1f}), key latency median
{med('key_median_ms'):.1f} ms, worst {max(r['key_max_ms'] for r in runs):.1f} ms.

- 100,000 lines/s or more: {verdict(rate_ok)} ({med('rate'):,.0f}).
- RSS grows by at most 50 MB: {verdict(rss_ok)} ({max(r['rss_growth_mb'] for r in runs):.1f} MB at most).
- a keypress handled within 100 ms during the flood: {verdict(key_ok)}
  (worst {max(r['key_max_ms'] for r in runs):.1f} ms).
{END}
"""


def write(section: str) -> None:
    text = REPORT.read_text() if REPORT.exists() else "# Performance\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
        text = head + section + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    REPORT.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print, do not touch docs/performance.md")
    args = parser.parse_args()
    if not os.environ.get("DOCKER_HOST", "").startswith("unix://"):
        sys.exit("log bench: set DOCKER_HOST to the private engine (make bench does)")
    os.environ.setdefault("XDG_STATE_HOME", tempfile.mkdtemp(prefix="skid-logbench-state-"))
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "flood.yml"
        path.write_text(COMPOSE.format(lines=args.lines))
        runs = []
        try:
            for i in range(args.runs):
                run = asyncio.run(one_run(path, args.lines))
                runs.append(run)
                print(f"log bench: run {i + 1}: {run['rate']:,.0f} lines/s end to end "
                      f"({run['rate_from_first']:,.0f} from the first line), RSS +{run['rss_growth_mb']:.1f} MB, "
                      f"keys median {run['key_median_ms']:.1f} ms, max {run['key_max_ms']:.1f} ms", flush=True)
        finally:
            compose(path, "down", "-t", "1")
    section = report(runs, args.lines, time.monotonic() - started)
    print(section)
    if not args.no_write:
        write(section)
        print(f"log bench: wrote {REPORT}")


if __name__ == "__main__":
    main()
