"""Compose output and errors carrying escape sequences and markup reach the dashboard as text: no crash, the
literal text in the activity log and the notification, and no control sequence of theirs on the screen."""

from __future__ import annotations

import re
from pathlib import Path

from skid_tui.ui.widgets.activity_log import ActivityLog
from tests.conftest import DEMO, PROFILES
from tests.functional.helpers import wait_until
from tests.functional.test_lifecycle_dashboard import app_for, connected, select

HOSTILE = r"\033]0;PWNED\007\033[2J\033[10;10H [/x] [bold red]boom[/] [link=http://e]l[/link] oops[/nope]"


def fake_compose(tmp_path: Path) -> Path:
    """A compose tool that answers `version` like Docker Compose and fails every command with hostile text."""
    script = tmp_path / "hostile-compose"
    script.write_text(
        "#!/bin/sh\n"
        'for a in "$@"; do [ "$a" = version ] && { echo "Docker Compose version v2.40.3"; exit 0; }; done\n'
        f"printf '{HOSTILE}\\n'\n"
        f"printf 'Error: {HOSTILE}\\n' >&2\n"
        "exit 1\n"
    )
    script.chmod(0o755)
    return script


async def test_hostile_compose_output_is_shown_as_text(engine, demo_project, tmp_path):
    app = app_for(demo_project.name, [str(DEMO)], PROFILES, "minimal")
    app.lifecycle.compose_cmd = str(fake_compose(tmp_path))
    notes: list[str] = []
    async with app.run_test(size=(160, 50)) as pilot:
        await connected(pilot, app)
        await select(pilot, app, "postgres")
        await pilot.press("space")
        log = app.query_one(ActivityLog)
        await wait_until(pilot, lambda: any("boom" in line and "✗" in line for line in log.lines)
                         or any("failed" in line for line in log.lines), 20, "the failed toggle in the activity log")
        await pilot.pause(0.3)
        notes = [str(n.message) for n in app._notifications]
        lines = list(log.lines)
        screen = app.export_screenshot()
        assert app.is_running  # no MarkupError, no crash
    text = "\n".join(lines)
    assert "^[]0;PWNED^G^[[2J^[[10;10H [/x] [bold red]boom[/] [link=http://e]l[/link] oops[/nope]" in text
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", text)
    assert any("[/x]" in n and "^[" in n for n in notes), notes
    assert all("\x1b" not in n and "\x07" not in n for n in notes)
    assert "PWNED" in screen and "\x1b" not in screen and "\x07" not in screen
