"""Resources on the real private engine: the numbers against `docker stats`, both sampling paths, OOM kills."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import threading
import time

import pytest

from skid_tui.engine.containers import parse_engine_time, read_project, service_containers
from skid_tui.engine.discovery import engine_candidates
from skid_tui.engine.sampler import StatsBatch, StatsSampler
from skid_tui.stack import load_stack
from skid_tui.ui.app import SkidApp
from skid_tui.ui.widgets.service_panel import ServicePanel
from tests.conftest import REPO, RESOURCES
from tests.functional.helpers import wait_until

MiB = 1024**2
DOCKER = "/usr/bin/docker"  # Debian's client speaks to the 20.10 engine


def monitor(project: str, *extra: str) -> dict:
    cmd = [sys.executable, "-m", "skid_tui", "--compose", str(RESOURCES), "--project-name", project, *extra,
           "monitor", "--once", "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    return {r["service"]: r for r in json.loads(out.stdout)["services"]} | {"_doc": json.loads(out.stdout)}


def docker_stats(container_name: str) -> tuple[float, float]:
    """(memory MiB, CPU %) as `docker stats --no-stream` prints them."""
    out = subprocess.run([DOCKER, "stats", "--no-stream", "--format", "{{.MemUsage}}|{{.CPUPerc}}", container_name],
                         capture_output=True, text=True, check=True, timeout=30).stdout.strip()
    mem, cpu = out.split("|")
    value, unit = re.match(r"([\d.]+)([KMG]i?B)", mem.split("/")[0].strip()).groups()
    factor = {"KiB": 1 / 1024, "MiB": 1.0, "GiB": 1024.0, "B": 1 / MiB}[unit]
    return float(value) * factor, float(cpu.rstrip("%"))


def container_of(engine, project: str, service: str):
    return service_containers(read_project(engine, project), project)[service][0]


def test_memory_of_a_40_mib_fill_matches_docker_stats(engine, resource_project):
    resource_project.up("hog")
    started = time.monotonic()
    hog = container_of(engine, resource_project.name, "hog")
    for stats in ("auto", "api"):
        rows = monitor(resource_project.name, "--stats", stats)
        mem = rows["hog"]["mem_bytes"] / MiB
        if stats == "auto":
            assert time.monotonic() - started < 3 + 3  # shown within 3 s (plus the monitor's own start)
            assert rows["_doc"]["engine"]["stats_source"] == "cgroup"
        else:
            assert rows["_doc"]["engine"]["stats_source"] == "api"
        assert 38 <= mem <= 42, f"{stats}: {mem:.2f} MiB"
        reference, _ = docker_stats(hog.name)
        assert abs(mem - reference) / reference < 0.02, f"{stats}: skid {mem:.2f} MiB, docker stats {reference:.2f}"
        assert rows["hog"]["mem_limit_bytes"] == 64 * MiB
        assert rows["hog"]["mem_standard_bytes"] == 32 * MiB and rows["hog"]["budget_state"] == "over_standard"


def collect(engine, container, mode: str, seconds: float) -> list:
    batches: list[StatsBatch] = []
    sampler = StatsSampler(engine, batches.append, mode=mode)
    sampler.track(container)
    thread = threading.Thread(target=sampler.run, daemon=True)
    thread.start()
    time.sleep(seconds)
    sampler.stop()
    thread.join(5)
    return [s for b in batches for s in b.samples if s.cpu_percent is not None]


def test_a_burner_capped_at_half_a_cpu_reads_50_percent_on_both_paths(engine, resource_project):
    resource_project.up("burner", "hog")
    burner = container_of(engine, resource_project.name, "burner")
    hog = container_of(engine, resource_project.name, "hog")
    results: dict[str, list] = {}

    def run(mode: str) -> None:
        results[mode] = collect(engine, burner, mode, 4.5) + collect(engine, hog, mode, 0.1)

    # Both paths side by side, over the same seconds.
    threads = [threading.Thread(target=run, args=(m,)) for m in ("cgroup", "api")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for mode in ("cgroup", "api"):
        cpu = [s.cpu_percent for s in results[mode] if s.container_id == burner.id]
        assert cpu, f"no {mode} CPU samples"
        median = sorted(cpu)[len(cpu) // 2]
        assert 40 <= median <= 60, f"{mode}: {cpu}"
        assert all(s.source == mode for s in results[mode])
    cg = sorted(s.cpu_percent for s in results["cgroup"] if s.container_id == burner.id)
    api = sorted(s.cpu_percent for s in results["api"] if s.container_id == burner.id)
    assert abs(cg[len(cg) // 2] - api[len(api) // 2]) <= 10
    cg_mem = [s.mem_used for s in results["cgroup"]] or [s.mem_used for s in results["api"]]
    api_mem = [s.mem_used for s in results["api"]]
    assert abs(cg_mem[-1] - api_mem[-1]) / api_mem[-1] < 0.02


def watch_oom_events(engine, project: str, seen: list[tuple[str, float]], stop: threading.Event) -> threading.Thread:
    """Records (event, monotonic time) of the project's oom and die events."""
    stream = engine.api.events(filters={"event": ["oom", "die"], "label": [f"com.docker.compose.project={project}"]},
                               decode=True)

    def run() -> None:
        for event in stream:
            seen.append((str(event.get("status") or event.get("Action")), time.monotonic()))
            if stop.is_set():
                break

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    stop_later = threading.Thread(target=lambda: (stop.wait(), stream.close()), daemon=True)
    stop_later.start()
    return thread


async def test_an_oom_kill_shows_in_the_panel_within_2_s_and_in_the_monitor(engine, resource_project, podman):
    stack = load_stack([str(RESOURCES)], None, project_name=resource_project.name)
    app = SkidApp(stack, stack.profiles["default"], engine_candidates, retry_interval=0.5)
    events: list[tuple[str, float]] = []
    stop = threading.Event()
    watch_oom_events(engine, resource_project.name, events, stop)
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            await wait_until(pilot, lambda: app.engine_status.state == "connected", 10, "the engine")
            await asyncio.to_thread(resource_project.compose, "--profile", "oom", "up", "-d", "victim")
            panel = app.query_one("#svc-victim", ServicePanel)
            # On Podman (no oom event, no OOMKilled) the kernel's OOM notification tells skid (engine.oomwatch).
            shown = await wait_until(pilot, lambda: panel.view.oom, 15, "OOM-KILLED in the victim's panel")
            if podman:
                # No oom event and no OOMKilled: skid saw the kernel's counter, or a 137 exit at the limit.
                # The kill is timed by the container's end.
                [victim] = engine.api.containers(all=True, filters={"label": [
                    f"com.docker.compose.project={resource_project.name}", "com.docker.compose.service=victim"]})
                finished = parse_engine_time(engine.api.inspect_container(victim["Id"])["State"]["FinishedAt"])
                killed_at = time.monotonic() - (time.time() - finished.timestamp())
            else:
                # The kernel's notification may reach skid before the engine's event reaches this test.
                await wait_until(pilot, lambda: any(e == "oom" for e, _ in events), 5, "the engine's oom event")
                killed_at = next(t for e, t in events if e == "oom")
            assert shown - killed_at < 2.0
            assert "OOM-KILLED" in str(panel.render())
            assert panel.has_class("-bad")
            assert app.model.resources("victim").budget_state == "oom"
            assert any("victim hit its memory limit of 64 MiB" in n.message for n in app._notifications)
    finally:
        stop.set()
    rows = monitor(resource_project.name)
    assert rows["victim"]["state"] == "exited"
    # Afterwards a new skid knows of the kill from the engine's record; Podman keeps none (its cgroup, and
    # the kernel's count in it, went with the container): README, Podman.
    assert rows["victim"]["budget_state"] == (None if podman else "oom")


async def test_a_worker_oom_killed_before_skid_started_is_counted_while_the_container_lives(
        engine, resource_project):
    """The kernel killed a worker process; the container lived on and no engine flag says so afterwards:
    its cgroup's own counter (v1 memory.oom_control, v2 memory.events `oom_kill`) does, on every engine."""
    resource_project.compose("--profile", "oom", "up", "-d", "survivor")
    [cid] = [c["Id"] for c in engine.api.containers(filters={"label": [
        f"com.docker.compose.project={resource_project.name}", "com.docker.compose.service=survivor"]})]
    deadline = time.monotonic() + 20
    while b"survived" not in engine.api.logs(cid):
        assert time.monotonic() < deadline, engine.api.logs(cid)
        time.sleep(0.2)
    assert engine.api.inspect_container(cid)["State"]["Running"]

    rows = monitor(resource_project.name)
    assert rows["survivor"]["state"] == "running"
    assert rows["survivor"]["oom_kills"] >= 1, rows["survivor"]
    assert rows["survivor"]["budget_state"] == "oom"

    stack = load_stack([str(RESOURCES)], None, project_name=resource_project.name)
    app = SkidApp(stack, stack.profiles["default"], engine_candidates, retry_interval=0.5)
    async with app.run_test(size=(160, 48)) as pilot:
        panel = app.query_one("#svc-survivor", ServicePanel)
        await wait_until(pilot, lambda: panel.view.oom, 10, "OOM-KILLED in the survivor's panel")
        assert "OOM-KILLED 1x before skid watched" in str(panel.render())
        assert app.model.resources("survivor").budget_state == "oom"
        assert panel.view.state == "running"


@pytest.mark.parametrize("stats", ["cgroup", "api", "agent"])
async def test_the_header_says_which_path_is_in_use(engine, resource_project, stats):
    resource_project.up("hog")
    stack = load_stack([str(RESOURCES)], None, project_name=resource_project.name)
    app = SkidApp(stack, stack.profiles["default"], engine_candidates, stats=stats)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: app.model.stats_source == stats, 10, f"the {stats} path")
        await wait_until(pilot, lambda: app.first_paint_at is not None, 10, "a complete paint")
        expected = {"cgroup": "direct cgroup reads", "api": "engine API streams", "agent": "agent in the engine"}[stats]
        assert expected in str(app.query_one("#engine-header").render())
        hog = app.query_one("#svc-hog", ServicePanel)
        assert hog.view.resources is not None and hog.view.resources.mem_text.strip() in ("40 MiB", "41 MiB")
