"""The command line and the dashboard run the same compose commands for the same asks (issue 10).

A start, a stop, a toggle and a profile switch, once through `skid` on the command line and once through
the dashboard's keys (Pilot), on the same demo project from the same state. The compose tool is a wrapper
that records each call's argv and the engine it was pointed at (DOCKER_HOST) and then runs the real
compose, so the stack really changes between the steps.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess
import sys
from pathlib import Path

from skid_tui.engine.discovery import engine_candidates
from skid_tui.model import LiveModel
from skid_tui.stack import load_stack
from skid_tui.ui.app import SkidApp
from skid_tui.ui.screens.confirm import ConfirmScreen
from skid_tui.ui.screens.profiles import ProfilePickerScreen
from tests.conftest import DEMO, PROFILES, REPO
from tests.functional.helpers import wait_until
from tests.functional.test_lifecycle_dashboard import SIZE, connected, select

RECORDER = """#!/bin/sh
# Records every compose call but the version probe, then runs the real compose.
[ "$*" = version ] || printf '%s\\t%s\\n' "${{DOCKER_HOST-unset}}" "$*" >> {log}
exec {real} "$@"
"""


def recorder(directory: Path, real: str) -> tuple[Path, Path]:
    script, log = directory / "recording-compose", directory / "calls.log"
    script.write_text(RECORDER.format(log=shlex.quote(str(log)), real=shlex.quote(real)))
    script.chmod(0o755)
    return script, log


def calls(log: Path) -> list[tuple[str, str]]:
    if not log.exists():
        return []
    return [tuple(line.split("\t", 1)) for line in log.read_text().splitlines()]  # type: ignore[misc]


def test_cli_and_dashboard_run_the_same_compose_calls(engine, compose_bin, demo_project, tmp_path, up_d):
    script, log = recorder(tmp_path, compose_bin)
    common = ["--compose", str(DEMO), "--profiles", str(PROFILES), "-p", demo_project.name,
              "--compose-cmd", str(script)]
    env = {**demo_project.env, "DOCKER_HOST": os.environ["DOCKER_HOST"]}

    # 1. The command line: start, stop, toggle (a stopped service: it starts), a profile switch.
    for args in (["up", "redis"], ["stop", "redis"], ["toggle", "go"], ["up", "app"]):
        done = subprocess.run([sys.executable, "-m", "skid_tui", *common, *args], env=env, cwd=REPO,
                              capture_output=True, text=True, timeout=180, check=False)
        assert done.returncode == 0, (args, done.stderr)
    by_cli = calls(log)
    demo_project.down()
    log.unlink()

    # 2. The dashboard, from the same state, by its keys.
    asyncio.run(dashboard_does_the_same(demo_project.name, str(script)))
    by_dashboard = calls(log)

    engines = {host for host, _ in by_cli + by_dashboard}
    assert engines == {os.environ["DOCKER_HOST"]}, engines  # both point compose at the engine skid watches
    head = f"--ansi never -p {demo_project.name} -f {DEMO}"
    assert [argv for _, argv in by_cli] == [
        f"{head} {up_d} redis",
        f"{head} stop redis",
        f"{head} --profile dev {up_d} go",
        f"{head} --profile dev stop go",
        f"{head} {up_d} postgres redis minio api orchestrator binary-processor",
    ]
    assert by_dashboard == by_cli


async def dashboard_does_the_same(project: str, compose_cmd: str) -> None:
    stack = load_stack([str(DEMO)], PROFILES, project_name=project)
    profile = stack.profiles["minimal"]
    app = SkidApp(stack, profile, engine_candidates, retry_interval=0.5, compose_cmd=compose_cmd,
                  model=LiveModel(stack, profile, peaks=None))
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)

        def runs(service: str) -> bool:
            return service in app.model.running_services()

        for service, then_running in (("redis", True), ("redis", False), ("go", True)):
            await select(pilot, app, service)
            await pilot.press("space")
            await wait_until(pilot, lambda s=service, r=then_running: app.lifecycle.queue.idle() and runs(s) == r,
                             60, f"{service} {'running' if then_running else 'stopped'}")
        await pilot.press("p")
        assert isinstance(app.screen, ProfilePickerScreen)
        app.screen.dismiss("app")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        members = set(stack.profiles["app"].services)
        await wait_until(pilot, lambda: app.lifecycle.queue.idle() and app.model.running_services() == members,
                         90, "exactly app's services running")
