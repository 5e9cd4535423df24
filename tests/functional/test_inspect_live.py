"""`i` and `skid inspect` on the real engine: minio's environment with its password masked, revealed only on
the key (one value, hidden again on the next press); its healthcheck's results, mounts and ports; and the
JSON that never holds the password without --show-secrets."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

from textual.widgets import Static

from skid_tui.engine.client import Engine
from skid_tui.ui.screens.inspect import InspectScreen
from tests.conftest import DEMO, PROFILES, DemoProject
from tests.functional.helpers import static_text, wait_until
from tests.functional.test_lifecycle_dashboard import SIZE, app_for, connected, select

PASSWORD = "skid-demo-minio"


def shown(screen: InspectScreen) -> str:
    return static_text(screen.query_one("#inspect-text", Static))


async def test_inspect_screen_masks_the_password_until_asked(engine: Engine, demo_project: DemoProject):
    demo_project.up("minio", wait=True)
    app = app_for(demo_project.name, [str(DEMO)], PROFILES, "minimal")
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        await wait_until(pilot, lambda: len(app.containers.get("minio", ())) == 1, 15, "minio listed")
        await select(pilot, app, "minio")
        await pilot.press("i")
        await wait_until(pilot, lambda: isinstance(app.screen, InspectScreen) and app.screen.result is not None,
                         15, "the inspect screen")
        screen = app.screen
        assert isinstance(screen, InspectScreen)
        text = shown(screen)
        assert "MINIO_ROOT_PASSWORD" in text and "••••" in text and PASSWORD not in text, text
        assert "MINIO_ROOT_USER" in text and "skid-demo" in text  # not a secret: shown
        assert "healthcheck" in text and "wget -q -O /dev/null" in text and "exit 0" in text
        assert "/data" in text and "volume" in text and "9000/tcp" in text and "127.0.0.1:" in text
        assert "limit 512 MiB" in text and "reservation 256 MiB" in text

        assert screen.selected == "MINIO_ROOT_PASSWORD"  # the first secret is picked
        await pilot.press("v")
        await pilot.pause()
        assert PASSWORD in shown(screen)
        await pilot.press("v")
        await pilot.pause()
        assert PASSWORD not in shown(screen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, InspectScreen)


def skid(project: DemoProject, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "skid_tui", "--compose", str(DEMO), "--profiles", str(PROFILES),
                           "--project-name", project.name, *args], capture_output=True, text=True, timeout=60,
                          env=project.env, check=False)


async def test_skid_inspect_json_and_text(engine: Engine, demo_project: DemoProject):
    demo_project.up("minio", wait=True)
    masked = await asyncio.to_thread(skid, demo_project, "inspect", "minio", "--json")
    assert masked.returncode == 0, masked.stderr
    assert PASSWORD not in masked.stdout
    doc = json.loads(masked.stdout)
    [c] = doc["containers"]
    env = {v["name"]: v for v in c["env"]}
    assert env["MINIO_ROOT_PASSWORD"]["value"] is None and env["MINIO_ROOT_PASSWORD"]["masked"] is True
    assert env["MINIO_ROOT_USER"]["value"] == "skid-demo"
    assert c["state"] == "running" and c["health"] == "healthy" and c["memory_limit"] == 512 << 20
    revealed = await asyncio.to_thread(skid, demo_project, "inspect", "minio", "--json", "--show-secrets")
    assert PASSWORD in revealed.stdout
    text = await asyncio.to_thread(skid, demo_project, "inspect", "minio")
    assert text.returncode == 0 and "MINIO_ROOT_PASSWORD" in text.stdout and PASSWORD not in text.stdout
    none = await asyncio.to_thread(skid, demo_project, "inspect", "redis")
    assert none.returncode == 1 and "redis has no container" in none.stderr
    bad = await asyncio.to_thread(skid, demo_project, "inspect", "nosuch")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
