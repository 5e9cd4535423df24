"""skid's narrower partial update sends the terminal exactly what Textual's own sends."""

from __future__ import annotations

import random

from rich.console import Console
from textual.app import App, ComposeResult
from textual.containers import Grid
from textual.geometry import Region
from textual.widgets import Footer, Static

from skid_tui.ui import compositor


class Board(App[None]):
    CSS = """
    Grid { grid-size: 3; grid-rows: 6; height: auto; }
    Grid > Static { border: round green; height: 6; }
    #overlay { layer: above; offset: 20 3; width: 30; height: 5; border: heavy red; background: $panel; }
    Screen { layers: below above; }
    """

    def compose(self) -> ComposeResult:
        yield Static("header line one\nheader line two", id="header")
        with Grid():
            for i in range(9):
                yield Static("\n".join(f"panel {i} line {y} " + "▁▂▃▄▅▆▇█"[(i + y) % 8] * 9 for y in range(4)))
        yield Static("over the panels", id="overlay")
        yield Footer()


def _frame(update: object, console: Console) -> str:
    return "" if update is None else update.render_segments(console)  # type: ignore[attr-defined]


async def test_partial_updates_match_textuals_own(monkeypatch) -> None:
    from textual.widget import Widget

    rendered = {"theirs": 0, "ours": 0}
    side = {"now": "theirs"}
    render_lines = Widget.render_lines

    def counting(self, crop):
        rendered[side["now"]] += 1
        return render_lines(self, crop)

    monkeypatch.setattr(Widget, "render_lines", counting)
    app = Board()
    console = Console(color_system="truecolor", width=100, force_terminal=True, legacy_windows=False)
    rng = random.Random(7)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen = app.screen
        comp = screen._compositor
        widgets = list(comp.visible_widgets)
        for _ in range(60):
            # A few changed lines in a few widgets, as a stats tick makes, sometimes under the overlay.
            dirty: set[Region] = set()
            for widget in rng.sample(widgets, k=rng.randint(1, 4)):
                region, clip = comp.visible_widgets[widget]
                shown = region.intersection(clip)
                if not shown:
                    continue
                y = rng.randrange(shown.y, shown.bottom)
                x = rng.randrange(shown.x, shown.right)
                dirty.add(Region(x, y, rng.randint(1, shown.right - x), 1))
                widget.refresh()
            comp._dirty_regions.update(dirty)
            side["now"] = "theirs"
            theirs = compositor._textual_partial_update(comp)
            comp._dirty_regions.update(dirty)
            side["now"] = "ours"
            comp._cuts = None  # as after a layout: the partial update is the first to need them
            ours = compositor.render_partial_update(comp)
            assert _frame(ours, console) == _frame(theirs, console)
            assert list(comp.visible_widgets) == widgets  # the map was put back
            cached, comp._cuts = comp._cuts, None
            assert cached == comp.cuts  # and the cuts it cached are every widget's, not the narrowed map's
    # The point of it: far fewer widgets rendered for the same frames.
    assert rendered["ours"] < rendered["theirs"] / 2, rendered


def test_installed_only_on_the_pinned_textual(monkeypatch) -> None:
    import textual
    from textual._compositor import Compositor

    try:
        monkeypatch.setattr(textual, "__version__", "0.0.0")
        compositor.uninstall()
        assert compositor.install() is False
        assert Compositor.render_partial_update is compositor._textual_partial_update
        monkeypatch.setattr(textual, "__version__", compositor.FOR_TEXTUAL)
        assert compositor.install() is True
        assert Compositor.render_partial_update is compositor.render_partial_update
    finally:
        compositor.install()


async def test_the_app_freezes_what_it_holds_after_its_first_paint_and_thaws_it_at_exit() -> None:
    """gc.freeze() keeps the collector off the app's long-lived objects; undone at unmount, or every app a
    test process ran would stay in memory."""
    import gc

    from tests.snapshots.test_snapshots import feed, quiet_app, running_stack, settle

    app = quiet_app()
    gc.unfreeze()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        assert app.first_paint_at is None and gc.get_freeze_count() == 0
        feed(app, *running_stack())
        await settle(pilot)
        assert app.first_paint_at is not None
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
