"""Restart, kill, pause/unpause and recreate from a panel, on the real engine: each one compose call through the
queue, shown in the activity log, doing what it says; and their CLI twins."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from skid_tui.engine.client import Engine
from skid_tui.ui.screens.confirm import ConfirmScreen
from tests.conftest import DEMO, PROFILES, DemoProject
from tests.functional.helpers import wait_until
from tests.functional.test_lifecycle_dashboard import SIZE, app_for, connected, exec_out, log_text, select


def redis_container(app) -> object:
    [c] = app.containers.get("redis", ())
    return c


async def test_restart_kill_pause_and_recreate_from_a_panel(engine: Engine, demo_project: DemoProject):
    demo_project.up("redis", wait=True)
    app = app_for(demo_project.name, [str(DEMO)], PROFILES, "minimal")
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        await wait_until(pilot, lambda: len(app.containers.get("redis", ())) == 1, 15, "redis listed")
        panel = await select(pilot, app, "redis")
        first = redis_container(app)
        await asyncio.to_thread(exec_out, engine, demo_project.name, "redis", "sh", "-c",
                                "echo kept > /data/skid-recreate")

        # r: the same container, started again.
        await pilot.press("r")
        await wait_until(pilot, lambda: "✓ restart redis" in log_text(app), 60, "the restart")
        await wait_until(pilot, lambda: redis_container(app).started_at != first.started_at, 10, "a new start time")
        assert redis_container(app).id == first.id
        assert f"-p {demo_project.name} " in log_text(app) and " restart redis\n" in log_text(app)

        # P pauses, P again unpauses.
        await pilot.press("P")
        await wait_until(pilot, lambda: panel.view.state == "paused", 30, "paused")
        assert engine.api.inspect_container(first.id)["State"]["Paused"] is True
        await pilot.press("P")
        await wait_until(pilot, lambda: panel.view.state == "running" and not panel.view.pending, 30, "unpaused")
        assert "✓ unpause redis" in log_text(app)

        # R: a new container, the volume's data still there.
        await pilot.press("R")
        await wait_until(pilot, lambda: "✓ recreate redis" in log_text(app), 60, "the recreate")
        # Podman lists the old container beside the new one for a moment while it removes it: wait for one.
        await wait_until(pilot, lambda: len(app.containers.get("redis", ())) == 1
                         and redis_container(app).id != first.id and redis_container(app).state == "running", 20,
                         "a new container")
        assert "up -d --force-recreate --no-deps redis" in log_text(app)
        data = await asyncio.to_thread(exec_out, engine, demo_project.name, "redis", "cat", "/data/skid-recreate")
        assert data.strip() == "kept"

        # K asks first; n leaves it running, y kills it.
        await pilot.press("K")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 5, "the kill confirmation")
        await pilot.press("n")
        await pilot.pause(0.3)
        assert panel.view.state == "running" and "kill redis" not in log_text(app)
        await pilot.press("K")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 5, "the kill confirmation")
        await pilot.press("y")
        await wait_until(pilot, lambda: panel.view.state == "exited" and "✓ kill redis" in log_text(app), 30, "killed")
        assert redis_container(app).exit_code == 137

        # On a service that is not running: said, nothing queued.
        await pilot.press("r")
        await pilot.pause(0.2)
        assert "restart redis (asked for)" not in log_text(app).split("✓ kill redis")[-1]


def skid(project: DemoProject, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "skid_tui", "--compose", str(DEMO), "--profiles", str(PROFILES),
                           "--project-name", project.name, *args], capture_output=True, text=True, timeout=120,
                          env=project.env, check=False)


def state_of(engine: Engine, project: str, service: str) -> str:
    [c] = engine.api.containers(all=True, filters={"label": [f"com.docker.compose.project={project}",
                                                              f"com.docker.compose.service={service}"]})
    return c["State"]


async def test_cli_twins_pause_unpause_recreate_kill(engine: Engine, demo_project: DemoProject):
    demo_project.up("redis", wait=True)
    before = engine.api.containers(filters={"label": f"com.docker.compose.project={demo_project.name}"})[0]["Id"]
    for verb, state in (("pause", "paused"), ("unpause", "running"), ("recreate", "running"), ("kill", "exited")):
        result = await asyncio.to_thread(skid, demo_project, verb, "redis")
        assert result.returncode == 0, (verb, result.stdout, result.stderr)
        said = "up -d --force-recreate --no-deps" if verb == "recreate" else verb
        assert f"{said} redis" in result.stdout, result.stdout
        assert state_of(engine, demo_project.name, "redis") == state, verb
    after = engine.api.containers(all=True, filters={"label": f"com.docker.compose.project={demo_project.name}"})
    assert [c["Id"] for c in after] != [before]
    bad = await asyncio.to_thread(skid, demo_project, "kill", "nosuch")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "nosuch" in bad.stderr, bad.stderr
