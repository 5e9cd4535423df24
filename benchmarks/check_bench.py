#!/usr/bin/env python3
"""What loading a stack costs: `skid check` from the spawn (interpreter start included) on the demo stack and
on the bundled Skidbladnir stack, beside `docker-compose config` on the same files (what compose itself takes
to read them). skid reads compose files with its own reader (tested against compose); it runs no compose
process to load a stack. Medians of interleaved runs; written to docs/performance.md in its own section."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from log_bench import REPO, write

BEGIN, END = "<!-- check-bench -->", "<!-- /check-bench -->"
BIN = Path(sys.executable).parent
STACKS = {"demo (10 services)": REPO / "compose" / "demo.yml",
          "Skidbladnir (bundled, 10 services)": REPO / "compose" / "skidbladnir.yml"}
TARGET = 1.0  # seconds, skid check on the demo stack


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    rows = []
    for label, path in STACKS.items():
        skid, compose = [], []
        for _ in range(args.runs):  # interleaved: the machine's noise lands on both
            skid.append(timed([str(BIN / "skid"), "--compose", str(path), "check"]))
            compose.append(timed([str(BIN / "docker-compose"), "-f", str(path), "-p", "bench", "config", "-q"]))
        rows.append((label, statistics.median(skid), min(skid), max(skid), statistics.median(compose)))
    demo = rows[0][1]
    lines = [BEGIN, "## Loading a stack (`make bench`, check bench)", "",
             f"`skid check` from the spawn, {args.runs} interleaved runs, medians (range):", "",
             "| stack | skid check | docker-compose config (the same files) |", "|---|---:|---:|"]
    lines += [f"| {label} | {med:.2f} s ({lo:.2f}-{hi:.2f}) | {comp:.2f} s |" for label, med, lo, hi, comp in rows]
    lines += ["", f"- `skid check` on the demo stack: **{demo:.2f} s** median (target at most {TARGET:.1f} s): "
              f"**{'met' if demo <= TARGET else 'not met'}**.",
              "- skid loads a stack with its own reader and runs no compose process for it, so the compose "
              "column is a comparison, not a part of skid's cost.", END, ""]
    section = "\n".join(lines)
    print(section)
    if not args.no_write:
        write(section, BEGIN, END)
        print("check bench: wrote docs/performance.md")


if __name__ == "__main__":
    main()
