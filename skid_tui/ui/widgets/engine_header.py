"""The header: project, active profile, and which engine skid talks to (or what it tried)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from skid_tui import __version__
from skid_tui.safe_text import visible
from skid_tui.stack.sizes import compact_bytes
from skid_tui.ui.views import STATS_SOURCE_TEXT, HeaderView


def render_header(view: HeaderView) -> Text:
    """The project and profile (from files), the compose tool and the engine line (from the engine) are data:
    appended as text, control characters made visible, never parsed as markup."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f" skid {__version__} ", style="bold reverse")
    text.append("  project ", style="dim")
    text.append(visible(view.project), style="bold")
    text.append("  profile ", style="dim")
    text.append(visible(view.profile) or "none", style="bold cyan")
    if view.profile:
        text.append(f" ({view.profile_services} services)", style="dim")
    text.append("  running ", style="dim")
    text.append(f"{view.running}/{view.services}", style="bold")
    if view.own_rss is not None:
        text.append("  skid ", style="dim")
        cpu = f"{view.own_cpu:.1f}%" if view.own_cpu is not None else "-"
        text.append(f"{cpu} {compact_bytes(view.own_rss)}")
    if view.compose:
        text.append("  compose ", style="dim")
        text.append(visible(view.compose))
    text.append("\n")
    mark, style = {
        "connected": ("●", "green"),
        "connecting": ("○", "yellow"),
        "lost": ("●", "bold red"),
        "unreachable": ("●", "bold red"),
    }.get(view.engine_state, ("?", ""))
    text.append(f" {mark} ", style=style)
    text.append(visible(view.engine_line), style="" if view.engine_state == "connected" else style)
    source = STATS_SOURCE_TEXT.get(view.stats_source, view.stats_source)
    if source and view.engine_state == "connected":
        text.append(f"  ·  {visible(source)}", style="grey62")
    return text


class EngineHeader(Static):
    def __init__(self, view: HeaderView) -> None:
        super().__init__(render_header(view), id="engine-header", markup=False)
        self.view = view
        self._apply(view)

    def show(self, view: HeaderView) -> None:
        if view != self.view:
            self.view = view
            self.update(render_header(view))
            self._apply(view)

    def _apply(self, view: HeaderView) -> None:
        self.set_class(view.engine_state in ("lost", "unreachable"), "-error")
