"""Keys, help and the command palette, driven with Pilot on deterministic data (no engine needed)."""

from __future__ import annotations

from skid_tui.engine.watcher import EngineStatus
from skid_tui.ui.messages import EngineStatusChanged
from skid_tui.ui.screens.help import HelpScreen
from skid_tui.ui.widgets.service_panel import ServicePanel
from tests.snapshots.test_snapshots import feed, quiet_app, running_stack


def focused_service(app) -> str:
    assert isinstance(app.focused, ServicePanel)
    return app.focused.service


async def test_arrow_keys_move_between_panels():
    app = quiet_app()
    async with app.run_test(size=(160, 40)) as pilot:  # three panels a row at 160 columns
        assert focused_service(app) == "postgres"
        await pilot.press("right")
        assert focused_service(app) == "redis"
        await pilot.press("down")
        assert focused_service(app) == "orchestrator"
        await pilot.press("k")
        assert focused_service(app) == "redis"
        await pilot.press("end")
        assert focused_service(app) == app.service_order[-1]
        await pilot.press("home", "left")
        assert focused_service(app) == "postgres"


async def test_help_opens_and_closes():
    app = quiet_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        keys = {k for _, rows in app.screen.sections for k, _ in rows}
        assert {"q", "?", "ctrl+p", "up, k", "down, j", "left", "right", "home", "end"} <= keys
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_command_palette_goes_to_a_service():
    app = quiet_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"go to minio")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert focused_service(app) == "minio"


async def test_panels_follow_updates_and_repaint_only_on_change():
    app = quiet_app()
    async with app.run_test(size=(160, 40)) as pilot:
        feed(app, *running_stack())
        await pilot.pause()
        postgres = app.query_one("#svc-postgres", ServicePanel)
        assert postgres.view.state == "running" and postgres.has_class("-ok")
        assert app.query_one("#svc-api", ServicePanel).has_class("-bad")
        before = postgres.view
        assert postgres.show(before) is False  # the same view: no repaint
        app.post_message(EngineStatusChanged(EngineStatus("lost", retry_interval=3)))
        await pilot.pause()
        assert postgres.view.engine == "lost" and postgres.has_class("-lost")
        assert "engine lost" in str(postgres.render())
        assert app.query_one("#engine-notice").display


async def test_q_quits():
    app = quiet_app()
    async with app.run_test() as pilot:
        await pilot.press("q")
    assert app.return_code == 0
