"""Narrowing the panels on the real engine: `/` filters as it is typed (name, state, image), enter keeps it and
gives the panels the focus back, escape clears it; `o` sorts (by memory: the biggest first); `H` hides what is
off; the selection stays on its service through all of it and through refreshes."""

from __future__ import annotations

from textual.keys import _character_to_key

from skid_tui.ui.widgets.service_grid import ServiceGrid
from skid_tui.ui.widgets.service_panel import ServicePanel
from tests.conftest import DEMO, PROFILES, DemoProject
from tests.functional.helpers import wait_until
from tests.functional.test_lifecycle_dashboard import SIZE, app_for, connected


def shown(app) -> list[str]:
    return [p.service for p in app.query_one(ServiceGrid).panels]


async def test_filter_sort_and_hide(engine, demo_project: DemoProject):
    demo_project.up("redis", "minio", wait=True)
    app = app_for(demo_project.name, [str(DEMO)], PROFILES, "minimal")
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        await wait_until(pilot, lambda: all(app.model.usage.get(s) for s in ("redis", "minio")), 20, "numbers")
        everything = shown(app)
        assert len(everything) == len(app.stack.services)
        app.query_one("#svc-minio").focus()
        await pilot.pause()

        await pilot.press("slash")
        await pilot.press(*[_character_to_key(c) for c in "re"])
        await pilot.pause(0.2)
        assert {"redis", "postgres"} <= set(shown(app)) < set(everything)  # "re": in both names
        await pilot.press(*[_character_to_key(c) for c in "dis"])
        await pilot.pause(0.2)
        assert shown(app) == ["redis"]
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert isinstance(app.focused, ServicePanel) and app.focused.service == "redis"
        assert "1 of 10 services" in str(app.query_one("#narrowed").content)

        await pilot.press("slash", "escape")  # cleared: every panel again, the selection kept
        await pilot.pause(0.2)
        assert shown(app) == everything
        assert isinstance(app.focused, ServicePanel) and app.focused.service == "redis"

        await pilot.press("slash", *[_character_to_key(c) for c in "running"], "enter")
        await pilot.pause(0.2)
        assert set(shown(app)) == {"redis", "minio"}
        await pilot.press("slash", "escape")

        await pilot.press("o", "o")  # name, then memory
        await pilot.pause(0.3)
        assert app.sort == "memory"
        used = {s: app.model.resources(s).mem_bytes or 0 for s in ("redis", "minio")}
        assert shown(app)[:2] == sorted(used, key=lambda s: -used[s])
        assert app.focused.service == "redis"  # the selection followed its panel

        await pilot.press("H")
        await pilot.pause(0.3)
        assert set(shown(app)) == {"redis", "minio"}
        demo_project.stop("minio")
        await wait_until(pilot, lambda: shown(app) == ["redis"], 30, "minio hidden once it stopped")
        await pilot.press("H", "o", "o")
        await pilot.pause(0.3)
        assert shown(app) == everything and app.sort == "profile"
