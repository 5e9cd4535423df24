"""What already held before the hardening work and must keep holding (issue 9, item 10), on the real engine:
fast toggles with a CLI `up` between them end where the engine is, and a log flood leaves keys answered."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time

import psutil
from textual import events

from tests.conftest import DEMO, PROFILES, REPO
from tests.functional.helpers import engine_health, wait_until
from tests.functional.test_lifecycle_dashboard import SIZE, app_for, connected, log_text, select
from tests.functional.test_logs_live import app_for as logs_app_for
from tests.functional.test_logs_live import open_pane


async def test_twenty_fast_toggles_with_a_cli_up_between_end_in_the_engines_state(engine, demo_project):
    app = app_for(demo_project.name, [str(DEMO)], PROFILES, "minimal")
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        panel = await select(pilot, app, "redis")
        for _ in range(10):
            await pilot.press("space")
        cli = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "skid_tui", "--compose", str(DEMO), "-p", demo_project.name,
                             "up", "redis"],
            env=demo_project.env, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
        assert cli.returncode == 0, cli.stderr
        for _ in range(10):
            await pilot.press("space")
        await wait_until(pilot, lambda: app.lifecycle.queue.idle() and not app.lifecycle.queue.pending, 180,
                         "every toggle done")
        real = await asyncio.to_thread(engine_health, engine, demo_project.name, "redis")
        await wait_until(pilot, lambda: panel.view.state == real[0], 10, f"the panel showing {real[0]}")
        log = log_text(app)
        assert len(re.findall(r"queued: (start|stop) redis \(toggled\)", log)) == 20
        assert len(re.findall(r"✓ (start|stop) redis \(toggled\): done", log)) == 20, log
        assert "✗" not in log, log


async def test_a_flood_leaves_keys_answered(engine, resource_project):
    app = logs_app_for(resource_project.name)
    rss = psutil.Process(os.getpid()).memory_info().rss
    async with app.run_test(size=(160, 60)) as pilot:
        pane = await open_pane(pilot, app, "flood")
        view = pane.view
        await pilot.pause(0.5)
        await asyncio.to_thread(resource_project.up, "flood")
        await wait_until(pilot, lambda: pane.buffer.total >= 20_000, 60, "the flood under way")
        waits = []
        while pane.buffer.total < 280_000 and len(waits) < 20:
            before = view.following
            start = time.monotonic()
            # As the terminal driver does (pilot.press would also wait for the flood's messages to drain).
            app.post_message(events.Key("space", " "))  # pause / follow: its effect is immediate
            await wait_until(pilot, lambda b=before: view.following != b, 5, "the key's effect")
            waits.append(time.monotonic() - start)
        grown = psutil.Process(os.getpid()).memory_info().rss - rss
    assert len(waits) >= 5, waits  # measured during the flood, not after it
    waits.sort()
    # Generous bounds for a shared 2-core CI machine; benchmarks/log_bench.py measures the real figure.
    assert waits[len(waits) // 2] < 0.25, waits
    assert waits[-1] < 1.0, waits
    assert grown < 100 * 1024**2, f"RSS grew {grown / 1024**2:.0f} MiB"
