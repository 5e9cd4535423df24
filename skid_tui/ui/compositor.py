"""A partial screen update that draws only the widgets it changes.

Textual 8.2.8 draws a partial update by rendering every widget inside the rectangle that bounds all the
changed regions, then keeps the changed lines. A stats tick changes a line or two in panels all over the
screen, so that rectangle is the whole screen and every widget (header, footer, grid, each panel) was
rendered each second, about a third of a tick's drawing. Only a widget that overlaps a changed region
can own a cell that is sent to the terminal, so the others are left out: the output is the same, cell
for cell (tests/unit/test_compositor.py compares it with Textual's own).

Installed only on the Textual version it was written against (pinned in pyproject.toml); any other
version keeps Textual's own.
"""

from __future__ import annotations

from typing import Any

import textual
from textual._compositor import ChopsUpdate, Compositor
from textual.geometry import Region

FOR_TEXTUAL = "8.2.8"

_textual_partial_update = Compositor.render_partial_update


def render_partial_update(self: Any) -> ChopsUpdate | None:
    """Compositor.render_partial_update, with only the widgets that overlap a changed region rendered."""
    update_regions = self._dirty_regions.copy()
    self._dirty_regions.clear()
    if not update_regions:
        return None
    crop = Region.from_union(update_regions).intersection(self.size.region)
    spans = list(self._regions_to_spans(update_regions))
    is_rendered_line = {y for y, _, _ in spans}.__contains__
    visible = self.visible_widgets
    cuts = self.cuts  # worked out (and cached) from every widget before the map is narrowed below
    changed = list(update_regions)

    def touched(region: Region, clip: Region) -> bool:
        shown = region.intersection(clip)
        return any(r.overlaps(shown) for r in changed)

    # Order kept (the dict is front to back): the first widget to fill a cell wins, as before.
    self._visible_widgets = {w: (region, clip) for w, (region, clip) in visible.items() if touched(region, clip)}
    try:
        chops = self._render_chops(crop, is_rendered_line)
    finally:
        self._visible_widgets = visible
    chop_ends = [cut_set[1:] for cut_set in cuts]
    return ChopsUpdate(chops, spans, chop_ends)


def install() -> bool:
    """Use the narrower partial update; returns whether it is in use (False on another Textual version)."""
    if textual.__version__ != FOR_TEXTUAL:
        return False
    Compositor.render_partial_update = render_partial_update  # type: ignore[method-assign]
    return True


def uninstall() -> None:
    """Textual's own partial update again (tests compare the two)."""
    Compositor.render_partial_update = _textual_partial_update  # type: ignore[method-assign]
