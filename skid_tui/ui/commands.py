"""Command palette entries: jump to a service, show the keys."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from skid_tui.ui.app import SkidApp


class ServiceCommands(Provider):
    def _commands(self) -> list[tuple[str, str, object]]:
        app: SkidApp = self.app  # type: ignore[assignment]
        found: list[tuple[str, str, object]] = [("Show keys", "Every key the dashboard answers to", app.action_help)]
        for name in app.service_order:
            found.append((f"Go to {name}", f"Select the {name} panel", partial(app.focus_service, name)))
        return found

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)  # type: ignore[arg-type]

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)  # type: ignore[arg-type]
