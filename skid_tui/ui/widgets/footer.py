"""The key bar at the bottom, rebuilt only when the keys it shows change.

Textual's Footer rebuilds all its key widgets whenever the focus moves. Moving between panels (or log
panes) keeps the same keys, and that rebuild was most of the cost of an arrow key.
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shown: tuple[tuple[Any, ...], ...] | None = None

    def bindings_changed(self, screen: Screen) -> None:
        if not screen.app.app_focus or not self.is_attached or screen is not self.screen:
            super().bindings_changed(screen)  # nothing is rebuilt now: the next change must rebuild
            self._shown = None
            return
        shown = tuple((key, b.action, b.description, b.show, enabled, tooltip)
                      for key, (_, b, enabled, tooltip) in screen.active_bindings.items())
        if shown != self._shown:
            self._shown = shown
            super().bindings_changed(screen)
