"""The dashboard alone runs the demo stack: toggles, profiles, the LLM on demand, idle stops, failures."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from skid_tui.engine.containers import read_project, service_containers
from skid_tui.engine.discovery import engine_candidates
from skid_tui.model import LiveModel
from skid_tui.stack import load_stack
from skid_tui.ui.app import SkidApp
from skid_tui.ui.screens.confirm import ConfirmScreen
from skid_tui.ui.screens.profiles import ProfilePickerScreen
from skid_tui.ui.widgets.activity_log import ActivityLog
from skid_tui.ui.widgets.service_panel import ServicePanel
from tests.conftest import DEMO, PROFILES, RESOURCES, DemoProject
from tests.functional.helpers import wait_until

SIZE = (160, 60)


def app_for(project: str, files: list[str], profiles: Path | None, profile: str) -> SkidApp:
    stack = load_stack(files, profiles, project_name=project)
    model = LiveModel(stack, stack.profiles[profile], peaks=None)
    return SkidApp(stack, stack.profiles[profile], engine_candidates, retry_interval=0.5, model=model)


def running(engine, project: str) -> set[str]:
    grouped = service_containers(read_project(engine, project), project)
    return {s for s, cs in grouped.items() if any(c.is_running for c in cs)}


def log_text(app: SkidApp) -> str:
    return "\n".join(app.query_one(ActivityLog).lines)


async def connected(pilot, app: SkidApp) -> None:
    await wait_until(pilot, lambda: app.engine_status.state == "connected"
                     and app.lifecycle.compose_tool is not None, 15, "the engine and the compose tool")


async def select(pilot, app: SkidApp, service: str) -> ServicePanel:
    panel = app.query_one(f"#svc-{service}", ServicePanel)
    panel.focus()
    await pilot.pause()
    return panel


def exec_out(engine, project: str, service: str, *cmd: str) -> str:
    [c] = service_containers(read_project(engine, project), project)[service]
    exec_id = engine.api.exec_create(c.id, list(cmd))["Id"]
    return engine.api.exec_start(exec_id).decode()


async def test_toggle_keeps_volume_data_and_shows_its_command(engine, demo_project, up_d):
    app = app_for(demo_project.name, [str(DEMO)], PROFILES, "minimal")
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        panel = await select(pilot, app, "postgres")
        await pilot.press("space")
        assert panel.view.pending in ("start queued", "starting")
        await wait_until(pilot, lambda: panel.view.health == "healthy", 30, "postgres healthy")
        assert f"{up_d} postgres" in log_text(app) and "✓ start postgres" in log_text(app)
        await asyncio.to_thread(exec_out, engine, demo_project.name, "postgres", "sh", "-c",
                                "echo keep-me > /var/lib/postgresql/data/skid-toggle")

        await pilot.press("space")  # off...
        await wait_until(pilot, lambda: panel.view.state == "exited" and not panel.view.pending, 30, "stopped")
        assert f"-p {demo_project.name}" in log_text(app) and "stop postgres" in log_text(app)
        await pilot.press("space")  # ...and on again
        await wait_until(pilot, lambda: panel.view.state == "running" and not panel.view.pending, 30, "running")
    data = await asyncio.to_thread(exec_out, engine, demo_project.name, "postgres", "cat",
                                   "/var/lib/postgresql/data/skid-toggle")
    assert data.strip() == "keep-me"


async def test_space_twice_starts_then_stops(engine, demo_project):
    app = app_for(demo_project.name, [str(DEMO)], PROFILES, "minimal")
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        panel = await select(pilot, app, "redis")
        await pilot.press("space", "space")  # the second waits for the first, then undoes it
        await wait_until(pilot, lambda: len(app.lifecycle.queue.done) == 2, 30, "both operations")
        assert [(r.op.kind, r.status) for r in app.lifecycle.queue.done] == [("start", 0), ("stop", 0)]
        await wait_until(pilot, lambda: panel.view.state == "exited", 10, "redis stopped")


async def test_profile_switch_from_the_picker(engine, demo_project):
    demo_project.up("postgres", "redis", "minio", "go")
    app = app_for(demo_project.name, [str(DEMO)], PROFILES, "minimal")
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        await wait_until(pilot, lambda: app.model.running_services() >= {"postgres", "go"}, 10, "the start state")
        await pilot.press("p")
        assert isinstance(app.screen, ProfilePickerScreen)
        plans = {p.profile.name: p for p in app.screen.plans}
        assert plans["app"].start == ("api", "orchestrator", "binary-processor")
        assert plans["app"].stop == ("go",) and plans["app"].verdict == "fits"
        app.screen.dismiss("app")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        app_services = {"postgres", "redis", "minio", "api", "orchestrator", "binary-processor"}
        await wait_until(pilot, lambda: not app.lifecycle.queue.pending
                         and app.model.running_services() == app_services, 60, "exactly app's services running")
        assert app.profile.name == "app" and app.header_view().profile == "app"
        assert app.query_one("#svc-api", ServicePanel).view.membership == "in app"
    assert running(engine, demo_project.name) == app_services


async def test_llm_on_demand_with_l(engine, demo_project):
    app = app_for(demo_project.name, [str(DEMO)], PROFILES, "minimal")
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        await wait_until(pilot, lambda: app.model.engine_free() is not None, 10, "the engine's memory")
        await pilot.press("L")
        check = app.lifecycle.last_start_check
        assert check.service == "llm-advisor" and check.need == 2 * 1024**3 and check.fits
        llm = app.query_one("#svc-llm-advisor", ServicePanel)
        assert llm.view.pending in ("start queued", "starting")
        await wait_until(pilot, lambda: llm.view.state == "running", 30, "llm-advisor running")
        # Its memory climbs as it "loads its model", then it turns healthy.
        await wait_until(pilot, lambda: (app.model.resources("llm-advisor").mem_bytes or 0) > 400 * 1024**2, 30,
                         "the model loading")
        await wait_until(pilot, lambda: llm.view.health == "healthy", 60, "llm-advisor healthy")
        assert app.model.resources("llm-advisor").mem_bytes > 1024**3
        await pilot.press("L")
        await wait_until(pilot, lambda: llm.view.state == "exited" and not llm.view.pending, 30, "llm-advisor stopped")


async def test_idle_on_demand_service_stops_itself_and_a_busy_one_does_not(engine, resource_project, tmp_path):
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "work.yaml").write_text(
        "services: [hog, burner]\non_demand:\n  hog: {idle_timeout: 3s}\n  burner: {idle_timeout: 3s}\n"
    )
    resource_project.up("hog", "burner")
    app = app_for(resource_project.name, [str(RESOURCES)], profiles, "work")
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        hog = app.query_one("#svc-hog", ServicePanel)
        await wait_until(pilot, lambda: hog.view.state == "exited", 20, "the idle hog stopped")
        await wait_until(pilot, lambda: "released" in log_text(app), 10, "the stop reported")
        assert "stop hog (idle for" in log_text(app) and "released 4" in log_text(app)  # about 40 MiB
        assert any(n.title == "Idle stop" for n in app._notifications)
        await pilot.pause(2)
        assert "burner" in app.model.running_services()  # 50% CPU: busy, kept


async def test_a_compose_failure_shows_compose_error_and_the_panel_stays_true(engine, compose_bin, tmp_path):
    override = tmp_path / "broken.yml"
    # An image that exists nowhere, with no build to fall back on and no registry to pull from.
    project = f"skidtest-{uuid.uuid4().hex[:8]}"
    override.write_text(
        f"services:\n  broken:\n    image: skid-test/{project}-missing:latest\n    pull_policy: never\n"
    )
    app = app_for(project, [str(DEMO), str(override)], PROFILES, "minimal")
    cleanup = DemoProject(compose_bin, project)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        panel = await select(pilot, app, "broken")
        await pilot.press("space")
        await wait_until(pilot, lambda: len(app.lifecycle.queue.done) == 1, 30, "the failed start")
        [status] = [r.status for r in app.lifecycle.queue.done]
        assert status != 0
        text = log_text(app)
        assert "✗ start broken" in text and f"{project}-missing" in text
        assert any(n.title == "compose failed" for n in app._notifications)
        await pilot.pause(1)
        assert panel.view.state == "not created" and not panel.view.pending
    cleanup.down()
