"""The real dashboard against the real private engine: panels follow what happens outside skid."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path

from skid_tui.engine.discovery import engine_candidates
from skid_tui.stack import load_stack
from skid_tui.ui.app import SkidApp
from skid_tui.ui.widgets.service_panel import ServicePanel
from tests.conftest import DEMO, PROFILES, REPO
from tests.functional.helpers import wait_engine, wait_until


def make_app(project: str, profile: str = "minimal", retry: float = 0.5) -> SkidApp:
    stack = load_stack([str(DEMO)], PROFILES, project_name=project)
    return SkidApp(stack, stack.profiles[profile], engine_candidates, retry_interval=retry)


def panel(app: SkidApp, service: str) -> ServicePanel:
    return app.query_one(f"#svc-{service}", ServicePanel)


async def test_started_outside_turns_running_then_healthy_then_exited(engine, demo_project):
    app = make_app(demo_project.name)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: app.engine_status.state == "connected", 10, "the engine")
        redis = panel(app, "redis")
        assert redis.view.state == "not created"

        await asyncio.to_thread(demo_project.up, "redis")
        await wait_until(pilot, lambda: redis.view.state == "running", 10, "redis running in its panel")
        assert redis.view.health in {"starting", "healthy"}

        said_healthy = await wait_engine(engine, demo_project.name, "redis", "healthy", 30)
        shown = await wait_until(pilot, lambda: redis.view.health == "healthy", 5, "redis healthy in its panel")
        assert shown - said_healthy < 5.0
        assert redis.has_class("-ok")
        assert "healthy" in str(redis.render())

        await asyncio.to_thread(demo_project.stop, "redis")
        await wait_until(pilot, lambda: redis.view.state == "exited", 10, "redis exited in its panel")
        assert redis.view.uptime == "" and redis.view.health == "none"


async def test_header_names_the_engine_and_where_it_was_found(engine, demo_project):
    app = make_app(demo_project.name)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: app.engine_status.state == "connected", 10, "the engine")
        line = app.header_view().engine_line
        assert f"{engine.info.kind} {engine.info.version} (API {engine.info.api_version})" in line
        assert "(DOCKER_HOST)" in line and os.environ["DOCKER_HOST"] in line


def private_engine_dir() -> tuple[Path, str]:
    """The engine `make test` started (its directory, and docker or podman); refuse to stop any other."""
    host = os.environ.get("DOCKER_HOST", "")
    assert host.startswith("unix://"), "engine tests run against the private engine's unix socket"
    socket = Path(host[len("unix://"):])
    kind = socket.stem  # scripts/engine.sh names the socket after the engine: docker.sock, podman.sock
    assert (socket.parent / f"{kind}.pid").exists(), f"{socket} is not an engine scripts/engine.sh started"
    return socket.parent, kind


def engine_script(action: str, engine_dir: tuple[Path, str]) -> None:
    directory, kind = engine_dir
    env = {**os.environ, "ENGINE_DIR": str(directory), "ENGINE": kind, "SKID_SKIP_DEMO_IMAGES": "1"}
    subprocess.run([str(REPO / "scripts" / "engine.sh"), action], env=env, check=True, capture_output=True,
                   timeout=120)


async def test_engine_lost_then_live_again_without_restarting_skid(engine, demo_project):
    directory = private_engine_dir()
    app = make_app(demo_project.name, retry=0.5)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: app.engine_status.state == "connected", 10, "the engine")
        await asyncio.to_thread(demo_project.up, "redis")
        redis = panel(app, "redis")
        await wait_until(pilot, lambda: redis.view.state == "running", 10, "redis running")

        stop = asyncio.create_task(asyncio.to_thread(engine_script, "stop", directory))
        await wait_until(pilot, lambda: app.engine_status.state == "lost", 30, "engine lost")
        await stop
        await wait_until(pilot, lambda: redis.view.engine == "lost", 2, "the panel to say engine lost")
        assert "engine lost" in str(redis.render())
        assert app.query_one("#engine-notice").display

        started = time.monotonic()
        await asyncio.to_thread(engine_script, "up", directory)
        await wait_until(pilot, lambda: app.engine_status.state == "connected", 10, "the engine back")
        assert time.monotonic() - started < 40
        assert not app.query_one("#engine-notice").display
        # Docker stopped its containers when it went down, Podman's outlive its API service (conmon keeps
        # them): either way the panel tells the engine's truth...
        after = "running" if directory[1] == "podman" else "exited"
        await wait_until(pilot, lambda: redis.view.state == after, 5, f"redis {after} after the restart")
        # ...and is live again: a change made outside skid shows up without restarting skid.
        await asyncio.to_thread(demo_project.stop, "redis")
        await wait_until(pilot, lambda: redis.view.state == "exited", 10, "redis stopped")
        await asyncio.to_thread(demo_project.up, "redis")
        await wait_until(pilot, lambda: redis.view.state == "running", 10, "redis running again")
