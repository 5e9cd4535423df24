"""Log pane throughput: one million lines from a container's logs into a dashboard pane, end to end.

On the private engine (DOCKER_HOST) a busybox container prints 1,000,000 lines as fast as it can; the real
dashboard runs headless, in a fresh process per run (its own heap, garbage collector and RSS, as a user's
dashboard has), with that service's log pane open before the container starts, so every line is new.
Measured, each run:
- lines/s: 1,000,000 / (moment the last line is in the pane's buffer - moment the container started);
  also from the first line to the last, which leaves out the container's start;
- that no line was lost: the pane counted exactly 1,000,000 and keeps exactly the newest 100,000, in order;
- memory: this process's RSS just before the flood and its peak during it (growth must stay under 50 MB);
- responsiveness: a thread presses a key every 50 ms during the flood; its latency runs from the moment the
  press was due (so a stalled process cannot hide its stall by delaying the press) to its handler;
- CPU: this process's, and the engine's (dockerd, its children and its containerd-shims).
Each run goes the way the dashboard reads logs by default (the Engine API's logs endpoint), then the same
runs with SKID_LOGS=file (the container's json-file log read from disk, where it can be). Results go to
docs/performance.md, in their own section.

    make bench-logs                  # this alone; `make bench` runs it after the stats benchmark
    python benchmarks/log_bench.py [--lines N] [--runs R] [--via api|file|both] [--no-write]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
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
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import psutil  # noqa: E402
from textual import events  # noqa: E402

from skid_tui.engine.discovery import engine_candidates  # noqa: E402
from skid_tui.engine.logs import SOURCE_ENV  # noqa: E402
from skid_tui.model import LiveModel  # noqa: E402
from skid_tui.stack import load_stack  # noqa: E402
from skid_tui.ui.app import SkidApp  # noqa: E402
from skid_tui.ui.widgets.log_view import LogPane  # noqa: E402

REPORT = REPO / "docs" / "performance.md"
BEGIN, END = "<!-- log-bench -->", "<!-- /log-bench -->"
PREFIX = "2026-11-27 12:00:00 INFO api: request handled, id="
COMPOSE = """\
services:
  flood:
    image: skid-demo/base:latest
    init: true
    # Lines shaped like a service's request log (about 60 characters), as fast as busybox prints them.
    command:
      - sh
      - -c
      - "seq 1 {lines} | sed 's/^/{prefix}/'; exec sleep 2147483647"
"""
PROJECT = "skid-logbench"
KEY_EVERY = 0.05
PATHS = {"api": "Through the Engine API, as the dashboard reads logs by default",
         "file": "From the json-file log on disk (SKID_LOGS=file)"}


class BenchApp(SkidApp):
    """The real dashboard, plus a key whose handler records how long after its press it ran."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.latencies: list[float] = []
        self.pressed_at: dict[int, float] = {}

    def on_key(self, event: events.Key) -> None:
        if event.key == "f12":
            due = self.pressed_at.pop(id(event), None)
            if due is not None:
                self.latencies.append(time.monotonic() - due)


def compose(path: Path, *args: str) -> None:
    binary = REPO / ".venv" / "bin" / "docker-compose"
    subprocess.run([str(binary), "-p", PROJECT, "-f", str(path), *args], check=True, capture_output=True)


class EngineMeter:
    """CPU time of the engine serving DOCKER_HOST: dockerd, its descendants, and the containerd-shims of its
    containerd (reparented to init, so found by the socket they name); not the containers' processes."""

    def __init__(self, sock: str) -> None:
        self.dockerd = next((p for p in psutil.process_iter(["name", "cmdline"])
                             if p.info["name"] == "dockerd" and any(sock in a for a in p.info["cmdline"] or [])), None)
        if self.dockerd is None:
            raise SystemExit(f"log bench: no dockerd on this machine serves {sock} (scripts/engine.sh up)")
        cmd = self.dockerd.cmdline()
        root = next((cmd[i + 1] for i, a in enumerate(cmd[:-1]) if a == "--exec-root"), "/var/run/docker")
        self.shim_address = os.path.join(root, "containerd", "containerd.sock")

    def cpu(self) -> float:
        found: dict[int, Any] = {}

        def walk(p: Any) -> None:
            found[p.pid] = p
            with contextlib.suppress(psutil.Error):
                if not p.name().startswith("containerd-shim"):
                    for child in p.children():
                        walk(child)

        walk(self.dockerd)
        for p in psutil.process_iter(["name", "cmdline"]):
            if (p.info["name"] or "").startswith("containerd-shim") and self.shim_address in (p.info["cmdline"] or []):
                found[p.pid] = p
        total = 0.0
        for p in found.values():
            with contextlib.suppress(psutil.Error):
                t = p.cpu_times()
                total += t.user + t.system
        return total


def check_lines(pane: LogPane, lines: int) -> str:
    """'' when the pane counted every line and keeps exactly the newest ones in order; else what is wrong."""
    buffer = pane.buffer
    if buffer.total != lines:
        return f"the pane counted {buffer.total:,} lines, not {lines:,}"
    kept = min(lines, buffer.capacity)
    if len(buffer.lines) != kept:
        return f"the pane keeps {len(buffer.lines):,} lines, not {kept:,}"
    for n, text in enumerate(buffer.column(1), start=lines - kept + 1):
        if text != f"{PREFIX}{n}":
            return f"kept line {n:,} is {text!r}"
    return ""


async def one_run(path: Path, lines: int, meter: EngineMeter) -> dict[str, Any]:
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
        follower = app.panes.followers[pane.id]
        rss_before = me.memory_info().rss
        peak = [rss_before]
        done = threading.Event()

        def watch_rss() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], me.memory_info().rss)
                time.sleep(0.05)

        def press_keys() -> None:
            # The press is due every KEY_EVERY s whatever this process is doing; latency counts from then.
            due = time.monotonic()
            while not done.is_set():
                due += KEY_EVERY
                time.sleep(max(0.0, due - time.monotonic()))
                key = events.Key("f12", None)
                app.pressed_at[id(key)] = due
                app.post_message(key)

        threading.Thread(target=watch_rss, daemon=True).start()
        engine_cpu, my_cpu = meter.cpu(), sum(me.cpu_times()[:2])
        started = time.monotonic()
        threading.Thread(target=press_keys, daemon=True).start()
        await asyncio.to_thread(compose, path, "up", "-d", "flood")
        first_line = None
        deadline = started + 120
        while pane.buffer.total < lines and time.monotonic() < deadline:
            if first_line is None and pane.buffer.total:
                first_line = time.monotonic()
            await asyncio.sleep(0.01)
        finished = time.monotonic()
        done.set()
        engine_cpu, my_cpu = meter.cpu() - engine_cpu, sum(me.cpu_times()[:2]) - my_cpu
        await pilot.pause(0.2)
        problem = check_lines(pane, lines)
        via = follower.via
    await asyncio.to_thread(compose, path, "down", "-t", "1")
    if problem:
        raise SystemExit(f"log bench: {problem}")
    lat = sorted(app.latencies)
    seconds = finished - started
    return {
        "via": via,
        "lines": lines,
        "seconds": seconds,
        "rate": lines / seconds,
        "rate_from_first": lines / (finished - (first_line or started)),
        "rss_before_mb": rss_before / 1024**2,
        "rss_growth_mb": (peak[0] - rss_before) / 1024**2,
        "keys": len(lat),
        "key_median_ms": statistics.median(lat) * 1000 if lat else float("nan"),
        "key_max_ms": lat[-1] * 1000 if lat else float("nan"),
        "skid_cpu": my_cpu,
        "engine_cpu": engine_cpu,
    }


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory = psutil.virtual_memory().total / 1024**3
    return f"{cpu}, {os.cpu_count()} cores, {memory:.1f} GiB, Linux {platform.release()}"


def med(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def table(runs: list[dict[str, Any]]) -> str:
    rows = "\n".join(
        f"| {i + 1} | {r['via']} | {r['seconds']:.2f} | {r['rate']:,.0f} | {r['rate_from_first']:,.0f} "
        f"| {r['rss_growth_mb']:.1f} | {r['key_median_ms']:.1f} | {r['key_max_ms']:.1f} | {int(r['keys'])} "
        f"| {r['skid_cpu']:.2f} | {r['engine_cpu']:.2f} |"
        for i, r in enumerate(runs)
    )
    head = ("| run | read from | seconds | lines/s, end to end | from first line | RSS growth MB | key median ms "
            "| key max ms | keys | skid CPU s | engine CPU s |\n"
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    per = 1e6 / runs[0]["lines"]
    return f"""{head}
{rows}

Medians: **{med(runs, 'rate'):,.0f} lines/s** end to end ({med(runs, 'rate_from_first'):,.0f} from the first line),
RSS growth {med(runs, 'rss_growth_mb'):.1f} MB (at most {max(r['rss_growth_mb'] for r in runs):.1f}), key latency median
{med(runs, 'key_median_ms'):.1f} ms, worst {max(r['key_max_ms'] for r in runs):.1f} ms; CPU per million lines: skid
{med(runs, 'skid_cpu') * per:.2f} s, the engine {med(runs, 'engine_cpu') * per:.2f} s."""


def verdicts(runs: list[dict[str, Any]]) -> str:
    def verdict(ok: bool) -> str:
        return "**met**" if ok else "**not met**"

    rate, rss, key = med(runs, "rate"), max(r["rss_growth_mb"] for r in runs), max(r["key_max_ms"] for r in runs)
    return f"""- 100,000 lines/s or more end to end (median): {verdict(rate >= 100_000)} ({rate:,.0f}).
- RSS grows by at most 50 MB: {verdict(rss <= 50)} ({rss:.1f} MB at most).
- a keypress handled within 100 ms during the flood: {verdict(key <= 100)} (worst {key:.1f} ms)."""


def report(results: dict[str, list[dict[str, Any]]], lines: int, wall: float) -> str:
    parts = [f"""{BEGIN}
## Log pane throughput

Written by `benchmarks/log_bench.py` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC ({wall:.0f} s), on {machine()}.
Regenerate with `make bench-logs` (`make bench` runs it after the stats benchmark).

A busybox container prints {lines:,} lines of about 60 characters (`seq | sed`, json-file log driver); the
dashboard runs headless, a fresh process per run, with that service's log pane open and in view. Timed
from `compose up` to the last line in the pane's buffer, so the container's own start and the engine's
logging are inside the figure. After each run the pane must have counted exactly {lines:,} lines and keep
exactly the newest {min(lines, 100_000):,}, in order, or the benchmark fails. A thread presses a key every
{KEY_EVERY * 1000:.0f} ms during the flood; latency runs from the moment the press was due to its handler, so a
stall of the whole process (a garbage collection, a long draw) counts in full. Engine CPU is dockerd, its
children and its containerd-shims (the containers' own processes are not in it).
"""]
    for via, runs in results.items():
        read = ", ".join(sorted({r["via"] for r in runs}))
        parts.append(f"### {PATHS[via]} (read from: {read})\n\n{table(runs)}\n\n{verdicts(runs)}\n")
    if "file" in results and "api" in results and results["file"][0]["via"] == "file":
        auto, api = results["file"], results["api"]
        per = 1e6 / lines
        cores = os.cpu_count() or 1
        engine_file, engine_api = med(auto, "engine_cpu") * per, med(api, "engine_cpu") * per
        skid_file, skid_api = med(auto, "skid_cpu") * per, med(api, "skid_cpu") * per
        parts.append(f"""### What the numbers say

- With SKID_LOGS=file the dashboard reads the container's json-file log from disk (root can, and so can
  rootless Docker's user). The engine then only writes the file: {engine_file:.1f} CPU-s per million lines,
  against {engine_api:.1f} when it also serves every line through its logs endpoint (one frame and one HTTP
  chunk each). skid's own CPU per million lines: {skid_file:.1f} s from the file, {skid_api:.1f} s from the API.
- Through the API, engine and skid together need {engine_api + skid_api:.1f} CPU-s per million lines on {cores} cores,
  next to the container's own work: that sum, mostly the engine's, sets the API path's rate.
- Where the file cannot be read (Docker Desktop's VM, Podman, a remote engine, a user without access to
  the engine's data root, another log driver), SKID_LOGS=file falls back to the Engine API.
""")
    parts.append(END + "\n")
    return "\n".join(parts)


def write(section: str, begin: str = BEGIN, end: str = END) -> None:
    """Put section (from begin to end) into docs/performance.md, in place of its earlier version."""
    text = REPORT.read_text() if REPORT.exists() else "# Performance\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        tail = rest.split(end, 1)[1].lstrip("\n")
        text = head + section + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    REPORT.write_text(text)


def run_in_child(path: Path, lines: int, via: str) -> dict[str, Any]:
    """One run in a fresh process, as a user's dashboard is: its own heap, garbage collector and RSS."""
    env = {**os.environ, SOURCE_ENV: via}
    out = subprocess.run([sys.executable, __file__, "--one-run", str(path), "--lines", str(lines)], env=env,
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(out.stderr.strip() or f"log bench: a run failed ({out.returncode})")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3, help="runs per way of reading")
    parser.add_argument("--via", choices=("api", "file", "both"), default="both",
                        help="through the Engine API (the default), from the log file (SKID_LOGS=file), or both")
    parser.add_argument("--no-write", action="store_true", help="print, do not touch docs/performance.md")
    parser.add_argument("--one-run", metavar="COMPOSE_FILE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    host = os.environ.get("DOCKER_HOST", "")
    if not host.startswith("unix://"):
        sys.exit("log bench: set DOCKER_HOST to the private engine (make bench-logs does)")
    meter = EngineMeter(host[len("unix://") :])
    os.environ.setdefault("XDG_STATE_HOME", tempfile.mkdtemp(prefix="skid-logbench-state-"))
    if args.one_run:
        print(json.dumps(asyncio.run(one_run(Path(args.one_run), args.lines, meter))))
        return
    started = time.monotonic()
    results: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "flood.yml"
        path.write_text(COMPOSE.format(lines=args.lines, prefix=PREFIX))
        try:
            vias = ("api", "file") if args.via == "both" else (args.via,)
            for i in range(args.runs):  # interleaved, so both ways see the same machine
                for via in vias:
                    runs = results.setdefault(via, [])
                    run = run_in_child(path, args.lines, via)
                    runs.append(run)
                    print(f"log bench: {via} run {i + 1} ({run['via']}): {run['rate']:,.0f} lines/s end to end "
                          f"({run['rate_from_first']:,.0f} from the first line), RSS +{run['rss_growth_mb']:.1f} MB, "
                          f"keys median {run['key_median_ms']:.1f} ms, max {run['key_max_ms']:.1f} ms, "
                          f"CPU skid {run['skid_cpu']:.1f} s, engine {run['engine_cpu']:.1f} s", flush=True)
        finally:
            compose(path, "down", "-t", "1")
    section = report(results, args.lines, time.monotonic() - started)
    print(section)
    if not args.no_write:
        write(section)
        print(f"log bench: wrote {REPORT}")


if __name__ == "__main__":
    main()
