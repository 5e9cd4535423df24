"""Save SVG screenshots of the dashboard on the demo stack into screenshots/ (`make screenshots`).

Runs against the private engine (DOCKER_HOST) with its own compose project, so a running demo is left
alone; uses Textual's own screenshot support through a headless run of the real app.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from skid_tui.engine.discovery import EngineCandidate, engine_candidates  # noqa: E402
from skid_tui.model import LiveModel  # noqa: E402
from skid_tui.model.history import HistoryRecorder, HistoryStore  # noqa: E402
from skid_tui.model.series import Mark, Reading  # noqa: E402
from skid_tui.stack import load_stack  # noqa: E402
from skid_tui.ui.app import SkidApp  # noqa: E402
from skid_tui.ui.widgets.service_panel import ServicePanel  # noqa: E402

PROJECT = "skid-demo-shots"
DEMO = REPO / "compose" / "demo.yml"
OUT = REPO / "screenshots"
SIZE = (160, 48)
PORTS = ("POSTGRES_HOST_PORT", "REDIS_HOST_PORT", "MINIO_HOST_PORT", "MINIO_CONSOLE_HOST_PORT",
         "API_HOST_PORT", "ORCHESTRATOR_HOST_PORT", "BINARY_PROCESSOR_HOST_PORT", "LLM_ADVISOR_HOST_PORT")


def compose(*args: str) -> None:
    binary = shutil.which("docker-compose")
    if binary is None:
        sys.exit("screenshots: no docker-compose in PATH (run `make install`)")
    env = {**os.environ, **dict.fromkeys(PORTS, "")}
    subprocess.run([binary, "-p", PROJECT, "-f", str(DEMO), *args], env=env, check=True)


async def wait_for(pilot, predicate, timeout: float) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit("screenshots: timed out waiting for the dashboard")
        await pilot.pause(0.1)


def seed_week(store: HistoryStore, service: str) -> None:
    """A synthetic week for one service, so the history view has days to show: a working day's swell, one
    afternoon that ran into the limit (an OOM kill, then a restart). Said so in the README's caption."""
    rng = random.Random(7)
    now = time.time()
    cid = "seed" + "0" * 60
    readings = []
    for k in range(7 * 24 * 60):
        t = now - 7 * 86400 + k * 60
        hour = time.localtime(t).tm_hour
        work = 1.0 if 9 <= hour < 18 else 0.0
        mem = (150 + 90 * work + 25 * math.sin(k / 37)) * 2**20 + rng.randrange(12 * 2**20)
        if 3 * 86400 < now - t < 3 * 86400 + 2400:  # the afternoon it ran away
            mem = min(512 * 2**20, mem + (2400 - (now - t - 3 * 86400)) * 2**20 / 5)
        cpu = (4 + 18 * work) * rng.uniform(0.5, 1.5)
        readings.append(Reading(PROJECT, service, cid, t, int(mem), cpu, 2e4, 1e4, 12))
    kill = now - 3 * 86400
    marks = [Mark(PROJECT, service, cid, kill, "oom", "seed-oom"),
             Mark(PROJECT, service, cid, now - 7 * 86400, "start", "s0"),
             Mark(PROJECT, service, cid, kill + 5, "start", "s1")]
    store.write(readings, marks)


async def shoot() -> None:
    stack = load_stack([str(DEMO)], REPO / "profiles", project_name=PROJECT)
    model = LiveModel(stack, stack.profiles["app"], peaks=None)  # no peaks from the user's state dir
    store = HistoryStore(Path(tempfile.mkdtemp(prefix="skid-shots-")) / "history.sqlite3")
    store.open()
    seed_week(store, "api")
    recorder = HistoryRecorder(store)
    model.history = recorder
    app = SkidApp(stack, stack.profiles["app"], engine_candidates, model=model, history=recorder)
    async with app.run_test(size=SIZE) as pilot:
        def settled() -> bool:
            views = {p.service: p.view for p in app.query(ServicePanel)}
            healthy = ("postgres", "redis", "minio", "api", "orchestrator", "binary-processor")
            return all(views[s].health == "healthy" for s in healthy) and app.lifecycle.compose_tool is not None

        await wait_for(pilot, settled, 90)
        await pilot.pause(12)  # some history for the sparklines, and a burst of the binary processor
        app.query_one("#svc-postgres", ServicePanel).focus()
        await pilot.pause(0.2)
        app.save_screenshot("dashboard.svg", str(OUT))
        await pilot.press("question_mark")
        await pilot.pause(0.2)
        app.save_screenshot("help.svg", str(OUT))
        await pilot.press("escape")
        await pilot.press("p")
        await pilot.pause(0.3)
        app.save_screenshot("profiles.svg", str(OUT))
        await pilot.press("escape")

        # Inspect minio: its healthcheck's results, its env with the password masked.
        app.query_one("#svc-minio", ServicePanel).focus()
        await pilot.press("i")
        await wait_for(pilot, lambda: getattr(app.screen, "result", None) is not None, 15)
        await pilot.pause(0.3)
        app.save_screenshot("inspect.svg", str(OUT))
        await pilot.press("escape")
        # Every service's logs in one pane, merged by time.
        await pilot.press("A")
        await wait_for(pilot, lambda: len(app.query_one("#pane-stack-all-body").buffer.lines) > 20, 20)
        await pilot.press("z")  # zoomed: more lines
        await pilot.pause(0.5)
        app.save_screenshot("stack-logs.svg", str(OUT))
        await pilot.press("z", "w")
        app.query_one("#svc-postgres", ServicePanel).focus()
        await pilot.press("e")
        await pilot.pause(0.5)
        app.save_screenshot("events.svg", str(OUT))
        await pilot.press("escape")
        # A week of api's history (seeded) at the end of which the live readings of this run come in.
        app.query_one("#svc-api", ServicePanel).focus()
        await pilot.press("h", "3")
        await wait_for(pilot, lambda: "last week" in str(app.screen.query_one("#history-numbers").render())
                       or "p95" in str(app.screen.query_one("#history-numbers").render()), 15)
        await pilot.pause(0.5)
        app.save_screenshot("history.svg", str(OUT))
        await pilot.press("escape")
        app.query_one("#svc-llm-advisor", ServicePanel).focus()
        await pilot.press("L")
        llm = app.query_one("#svc-llm-advisor", ServicePanel)
        await wait_for(pilot, lambda: (app.model.resources("llm-advisor").mem_bytes or 0) > 500 * 1024**2, 60)
        await pilot.pause(0.3)
        app.save_screenshot("llm-loading.svg", str(OUT))
        await wait_for(pilot, lambda: llm.view.health == "healthy", 90)
        await pilot.pause(0.3)
        app.save_screenshot("llm-ready.svg", str(OUT))

        app.query_one("#svc-api", ServicePanel).focus()
        await pilot.press("b")
        await wait_for(pilot, lambda: all(job.state == "done" for job in app.jobs.by_pane.values()), 120)
        await pilot.pause(0.3)
        app.save_screenshot("build.svg", str(OUT))
        app.query_one("#svc-api", ServicePanel).focus()
        await pilot.press("t")
        await pilot.press("1")  # the low limit: 512 MiB
        await pilot.pause(0.3)
        app.save_screenshot("tests-picker.svg", str(OUT))
        await pilot.press("a")
        await pilot.pause(0.3)
        await wait_for(pilot, lambda: all(job.state == "done" for job in app.jobs.by_pane.values()), 120)
        await pilot.pause(0.3)
        app.save_screenshot("test-run.svg", str(OUT))

    nowhere = [EngineCandidate("unix:///var/run/docker.sock", "Docker Engine default socket"),
               EngineCandidate("unix:///run/podman/podman.sock", "Podman rootful socket")]
    app = SkidApp(stack, stack.profiles["minimal"], lambda: nowhere, model=LiveModel(stack, None, peaks=None))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.engine_status.state == "unreachable", 10)
        await pilot.pause(0.2)
        app.save_screenshot("no-engine.svg", str(OUT))


def main() -> None:
    OUT.mkdir(exist_ok=True)
    try:
        compose("up", "-d", "postgres", "redis", "minio", "api", "orchestrator", "binary-processor")
        os.environ.update(dict.fromkeys(PORTS, ""))  # the app's own compose runs: free ports too
        asyncio.run(shoot())
    finally:
        # This project exists only for the screenshots: its containers and volumes go with it.
        compose("--profile", "all", "down", "-v", "-t", "1")
    for name in ("dashboard.svg", "help.svg", "profiles.svg", "inspect.svg", "stack-logs.svg", "events.svg",
                 "history.svg", "llm-loading.svg", "llm-ready.svg", "build.svg",
                 "tests-picker.svg", "test-run.svg", "no-engine.svg"):
        print(f"screenshots: wrote {OUT / name}")


if __name__ == "__main__":
    main()
