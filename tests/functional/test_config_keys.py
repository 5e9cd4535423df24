"""The config file on the real dashboard and command line: a remapped key works (and the old one no longer
does), a bad entry is one line `FILE:LINE: ...` (exit 2 for the CLI; the dashboard says it and starts with the
defaults), `skid keys` lists the keys as configured."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from skid_tui.engine.discovery import engine_candidates
from skid_tui.model import LiveModel
from skid_tui.ops import keys as key_table
from skid_tui.ops.userconfig import load_config
from skid_tui.stack import load_stack
from skid_tui.ui.app import SkidApp
from skid_tui.ui.widgets.activity_log import ActivityLog
from skid_tui.ui.widgets.log_view import LogPane
from tests.conftest import DEMO, PROFILES, DemoProject
from tests.functional.helpers import wait_until

SIZE = (160, 50)


def app_with(project: DemoProject, config_file: Path) -> SkidApp:
    config, issues = load_config(config_file, bindings=key_table.defaults())
    stack = load_stack([str(DEMO)], PROFILES, project_name=project.name)
    profile = stack.profiles["minimal"]
    return SkidApp(stack, profile, engine_candidates, retry_interval=0.5, model=LiveModel(stack, profile, peaks=None),
                   config=config, config_issues=issues)


async def test_a_remapped_key_opens_the_logs_and_a_bad_entry_is_said(engine, demo_project: DemoProject, tmp_path):
    demo_project.up("redis", wait=True)
    config = tmp_path / "config.toml"
    config.write_text('theme = "no-such-theme"\n\n[keys]\n"app.logs" = "O"\n"app.help" = "ctrl+"\n')
    app = app_with(demo_project, config)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.engine_status.state == "connected"
                         and bool(app.containers.get("redis")), 15, "redis")
        said = "\n".join(app.query_one(ActivityLog).lines)
        assert f"{config}:5: 'ctrl+' is not a key name" in said, said
        assert f"{config}:1: unknown theme 'no-such-theme'" in said, said
        app.query_one("#svc-redis").focus()
        await pilot.press("l")  # no longer the logs key
        await pilot.pause(0.2)
        assert not app.query(LogPane)
        await pilot.press("O")
        await wait_until(pilot, lambda: bool(app.query("#pane-logs-redis-body")), 5, "the logs pane")
        pane = app.query_one("#pane-logs-redis-body", LogPane)
        await wait_until(pilot, lambda: len(pane.buffer.lines) > 0, 15, "redis's log lines")
        await pilot.press("question_mark")  # the bad mapping was dropped: ? is still the help
        await pilot.pause(0.2)
        assert type(app.screen).__name__ == "HelpScreen"


def skid(*args: str, config_home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_CONFIG_HOME": str(config_home)}
    return subprocess.run([sys.executable, "-m", "skid_tui", "--compose", str(DEMO), "--profiles", str(PROFILES),
                           *args], capture_output=True, text=True, timeout=60, env=env, check=False)


def test_cli_reports_a_bad_config_in_one_line_and_lists_the_keys(tmp_path: Path):
    home = tmp_path / "xdg"
    (home / "skid-tui").mkdir(parents=True)
    file = home / "skid-tui" / "config.toml"
    file.write_text('[keys]\n"app.logs" = "O"\n"app.nope" = "x"\n')
    bad = skid("check", config_home=home)
    assert bad.returncode == 2 and bad.stdout == "", bad.stdout
    assert bad.stderr == f"{file}:3: unknown binding id 'app.nope' (`skid keys` lists them)\n", bad.stderr

    file.write_text('[keys]\n"app.logs" = "O"\n')
    keys = skid("keys", config_home=home)
    assert keys.returncode == 0, keys.stderr
    row = next(line for line in keys.stdout.splitlines() if line.startswith("app.logs"))
    assert row.split()[:2] == ["app.logs", "O"] and "(yours)" in row
    assert any(line.split()[:2] == ["app.shell", "s"] for line in keys.stdout.splitlines())
    assert skid("check", config_home=home).returncode == 0
