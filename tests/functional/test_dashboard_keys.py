"""Keys, help and the command palette, driven with Pilot on deterministic data (no engine needed)."""

from __future__ import annotations

from skid_tui.engine.sampler import StatsBatch
from skid_tui.engine.watcher import EngineStatus, ServiceUpdate
from skid_tui.model import HostMemory
from skid_tui.ui.messages import EngineStatusChanged
from skid_tui.ui.screens.help import HelpScreen
from skid_tui.ui.widgets.service_panel import ServicePanel
from tests.factories import NOW, GiB, MiB, container
from tests.snapshots.test_snapshots import INFO, feed, quiet_app, running_stack, sample


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
        assert {"q", "?", "ctrl-p", "up, k", "down, j", "left", "right", "home", "end"} <= keys
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


async def test_panel_colour_follows_the_budget_thresholds():
    app = quiet_app()
    async with app.run_test(size=(160, 48)) as pilot:
        pg = container("postgres")
        feed(app, EngineStatus("connected", info=INFO), ServiceUpdate("postgres", (pg,)))
        panel = app.query_one("#svc-postgres", ServicePanel)
        # postgres: standard 256 MiB, maximum 512 MiB; near the maximum from 460.8 MiB.
        for mib, state, tone in ((200, "ok", "-ok"), (300, "over_standard", "-warn"), (470, "near_max", "-bad")):
            feed(app, StatsBatch((sample("postgres", mib, 1.0),), "cgroup"))
            await pilot.pause()
            assert panel.view.resources.budget_state == state
            assert panel.has_class(tone), (mib, panel.classes)
        feed(app, ServiceUpdate("postgres", (pg,), event="oom", at=NOW.timestamp()))
        await pilot.pause()
        assert panel.view.resources.budget_state == "oom" and panel.has_class("-bad")
        assert "OOM-KILLED" in str(panel.render())


async def test_budget_bar_sums_what_is_running():
    app = quiet_app()
    async with app.run_test(size=(160, 48)) as pilot:
        feed(app, EngineStatus("connected", info=INFO))
        for name, mib in (("postgres", 200), ("redis", 100), ("minio", 212)):
            feed(app, ServiceUpdate(name, (container(name),)), StatsBatch((sample(name, mib, 1.0),), "cgroup"))
        await pilot.pause()
        bar = str(app.query_one("#budget-bar").render())
        assert "512 MiB of 6.00 GiB budget" in bar
        assert app.model.totals().mem_bytes == 512 * MiB
        # One stops: the sum follows.
        feed(app, ServiceUpdate("minio", (container("minio", state="exited"),), event="die"))
        await pilot.pause()
        assert "300 MiB of 6.00 GiB budget" in str(app.query_one("#budget-bar").render())


async def test_host_memory_short_names_what_to_stop():
    app = quiet_app(host=HostMemory(16 * GiB, 2 * GiB))
    async with app.run_test(size=(160, 48)) as pilot:
        feed(app, EngineStatus("connected", info=INFO))
        for name, mib in (("postgres", 200), ("llm-advisor", 1200)):
            feed(app, ServiceUpdate(name, (container(name),)), StatsBatch((sample(name, mib, 1.0),), "cgroup"))
        await pilot.pause()
        bar = app.query_one("#budget-bar")
        assert bar.has_class("-hint")
        assert "stopping llm-advisor (1.17 GiB), postgres (200 MiB) would free" in str(bar.render())


async def test_a_covered_dashboard_does_not_draw_and_catches_up_when_shown():
    from textual.screen import Screen

    app = quiet_app()
    async with app.run_test(size=(160, 48)) as pilot:
        pg = container("postgres")
        feed(app, EngineStatus("connected", info=INFO), ServiceUpdate("postgres", (pg,)),
             StatsBatch((sample("postgres", 100, 1.0),), "cgroup"))
        await pilot.pause()
        panel = app.query_one("#svc-postgres", ServicePanel)
        assert "100 MiB" in panel.view.resources.mem_text
        await app.push_screen(Screen())
        feed(app, StatsBatch((sample("postgres", 300, 1.0),), "cgroup"))
        await pilot.pause()
        assert app.model.resources("postgres").mem_bytes == 300 * MiB  # the model keeps up...
        assert "100 MiB" in panel.view.resources.mem_text  # ...the covered panel does not draw
        app.pop_screen()
        feed(app, StatsBatch((sample("postgres", 310, 1.0),), "cgroup"))
        await pilot.pause()
        assert "310 MiB" in panel.view.resources.mem_text


async def test_panels_out_of_view_wait_and_catch_up_when_scrolled_to():
    app = quiet_app()
    async with app.run_test(size=(100, 24)) as pilot:  # two columns, about one row of panels in view
        await pilot.pause()
        feed(app, EngineStatus("connected", info=INFO))
        for name in ("postgres", "go"):
            feed(app, ServiceUpdate(name, (container(name),)), StatsBatch((sample(name, 100, 1.0),), "cgroup"))
        await pilot.pause()
        go = app.query_one("#svc-go", ServicePanel)
        top = app.query_one("#svc-postgres", ServicePanel)
        assert "100 MiB" in top.view.resources.mem_text
        assert "100 MiB" not in go.view.resources.mem_text  # out of view: its sample is not drawn yet
        assert "go" in app._offscreen
        await pilot.press("end")  # focus the last panel: the grid scrolls to it
        await pilot.pause(0.2)
        assert "100 MiB" in go.view.resources.mem_text
