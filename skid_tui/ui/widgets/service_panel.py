"""A service as a panel: state and health, memory against its budget, CPU, network, image and ports."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from skid_tui.ui.gauges import memory_ruler_cells
from skid_tui.ui.views import ResourceView, ServiceView

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
LABEL = "grey62"


def _state_line(view: ServiceView, text: Text) -> None:
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
    r = view.resources
    if r is not None and r.oom_text:
        text.append(f"  {r.oom_text} ", style="bold white on red")
    elif view.oom:
        text.append("  OOM-KILLED ", style="bold white on red")


def _resource_lines(r: ResourceView, text: Text) -> None:
    text.append("mem ", style=LABEL)
    text.append_text(memory_ruler_cells(r.ruler_width, r.ruler_filled, r.ruler_std, r.ruler_max, r.ruler_style))
    text.append(" ")
    text.append(r.mem_text, style=f"bold {r.ruler_style}" if r.running else "dim")
    text.append("\n    ")
    text.append(r.limits_text, style="" if r.running else "dim")
    text.append("\n    ")
    text.append(r.mem_spark, style=r.ruler_style)
    text.append("\ncpu ", style=LABEL)
    if r.running:
        text.append(r.cpu_spark, style=r.cpu_style or "cyan")
        text.append(f" {r.cpu_text}", style=r.cpu_style)
    else:
        text.append(r.cpu_text, style="dim")
    text.append("\nnet ", style=LABEL)
    text.append(r.net_text)


def render_service(view: ServiceView) -> Text:
    """The panel's body as a pure function of its view."""
    text = Text(no_wrap=True, overflow="ellipsis")
    _state_line(view, text)
    text.append("\n")
    if view.resources is not None:
        _resource_lines(view.resources, text)
    else:
        text.append(view.budget, style="dim" if view.budget == "no budget" else "")
    text.append("\n")
    text.append(view.image or "no image", style="italic grey62")
    if view.ports:
        text.append(" · ")
        text.append("  ".join(view.ports))
    return text


class ServicePanel(Widget, can_focus=True):
    """Renders one ServiceView; repaints only when the view changed, and never re-lays itself out."""

    DEFAULT_CLASSES = "service-panel"

    def __init__(self, view: ServiceView) -> None:
        super().__init__(id=f"svc-{view.name}")
        self.auto_links = False  # no links in a panel: skip Textual's per-strip link styling
        self.service = view.name
        self.view = view
        self._body = render_service(view)
        self.border_title = view.name
        self._apply_chrome(view)

    def render(self) -> Text:
        return self._body

    def show(self, view: ServiceView) -> bool:
        """Adopt a new view; returns whether anything visible changed."""
        if view == self.view:
            return False
        old = self.view
        self.view = view
        self._body = render_service(view)
        # The panel's size never depends on its content: repaint without a layout pass.
        self.refresh()
        if (old.tone, old.wanted, old.membership) != (view.tone, view.wanted, view.membership):
            self._apply_chrome(view)
        return True

    def _apply_chrome(self, view: ServiceView) -> None:
        self.border_subtitle = ("● " if view.wanted else "○ ") + view.membership if view.membership else ""
        for tone in TONES:
            self.set_class(view.tone == tone, f"-{tone}")
        self.set_class(view.wanted, "-wanted")
