"""A service as a panel: state, health, uptime, image, ports, budget, and whether the profile wants it."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from skid_tui.ui.views import ServiceView

STATE_STYLE = {
    "running": "bold green",
    "restarting": "bold yellow",
    "paused": "yellow",
    "removing": "yellow",
    "created": "cyan",
    "exited": "dim",  # a clean exit; a non-zero one is drawn red below
    "dead": "bold red",
    "not created": "dim",
}
HEALTH_STYLE = {"healthy": "green", "starting": "yellow", "unhealthy": "bold red"}
TONES = ("ok", "warn", "bad", "off", "lost")


def render_service(view: ServiceView) -> Text:
    """The panel's body as a pure function of its view."""
    text = Text(no_wrap=True, overflow="ellipsis")
    if view.engine == "lost":
        text.append("● engine lost", style="bold red")
        text.append(f"  last known: {view.state_text}", style="dim")
    elif view.engine == "unreachable":
        text.append("● no engine", style="bold red")
    elif view.engine == "connecting":
        text.append("● connecting…", style="dim")
    else:
        style = "bold red" if view.state == "exited" and view.exit_code else STATE_STYLE.get(view.state, "")
        text.append(f"● {view.state_text}", style=style)
        if view.health != "none":
            text.append(f"  ♥ {view.health}", style=HEALTH_STYLE.get(view.health, ""))
        if view.uptime:
            text.append(f"  up {view.uptime}", style="dim")
        if view.replicas:
            text.append(f"  {view.replicas}", style="cyan")
    if view.oom:
        text.append("  OOM-KILLED", style="bold white on red")
    text.append("\n")
    text.append(view.image or "no image", style="italic")
    text.append("\n")
    text.append("  ".join(view.ports) if view.ports else "no published ports", style="" if view.ports else "dim")
    text.append("\n")
    text.append(view.budget, style="dim" if view.budget == "no budget" else "")
    return text


class ServicePanel(Static, can_focus=True):
    """Renders one ServiceView; repaints only when the view changed."""

    DEFAULT_CLASSES = "service-panel"

    def __init__(self, view: ServiceView) -> None:
        super().__init__(render_service(view), id=f"svc-{view.name}", markup=False)
        self.service = view.name
        self.view = view
        self.border_title = view.name
        self._apply_chrome(view)

    def show(self, view: ServiceView) -> bool:
        """Adopt a new view; returns whether anything visible changed."""
        if view == self.view:
            return False
        self.view = view
        self.update(render_service(view))
        self._apply_chrome(view)
        return True

    def _apply_chrome(self, view: ServiceView) -> None:
        self.border_subtitle = ("● " if view.wanted else "○ ") + view.membership if view.membership else ""
        for tone in TONES:
            self.set_class(view.tone == tone, f"-{tone}")
        self.set_class(view.wanted, "-wanted")
