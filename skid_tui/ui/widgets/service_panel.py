"""A service as a panel: state and health, memory against its budget, CPU, network, image and ports."""

from __future__ import annotations

import itertools
import re

from rich.cells import cell_len
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.css.tokenize import IDENTIFIER
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Input

from skid_tui.present import HEALTH_STYLE, STATE_STYLE
from skid_tui.safe_text import visible
from skid_tui.ui.gauges import memory_ruler_cells
from skid_tui.ui.views import ResourceView, ServiceView

TONES = ("ok", "warn", "bad", "off", "lost")
LABEL = "grey62"
_ID = re.compile(IDENTIFIER)


def panel_id(service: str) -> str | None:
    """`svc-NAME`, the panel's DOM id, or None when NAME cannot be part of one (compose allows '.')."""
    candidate = f"svc-{service}"
    return candidate if _ID.fullmatch(candidate) else None


def panel_title(view: ServiceView) -> Text:
    """The border title: the service's name as text (a str title would be parsed as markup)."""
    return Text(visible(view.name))


def panel_subtitle(view: ServiceView) -> Text:
    """"● in minimal": the membership names a profile, and a profile's name is data, never markup."""
    if not view.membership:
        return Text()
    return Text(("● " if view.wanted else "○ ") + visible(view.membership))


def _state_line(view: ServiceView, text: Text) -> None:
    if view.engine == "lost":
        text.append("● engine lost", style="bold red")
        text.append(f"  last known: {visible(view.state_text)}", style="dim")
    elif view.engine == "unreachable":
        text.append("● no engine", style="bold red")
    elif view.engine == "connecting":
        text.append("● connecting…", style="dim")
    else:
        style = "bold red" if view.state == "exited" and view.exit_code else STATE_STYLE.get(view.state, "")
        text.append(f"● {visible(view.state_text)}", style=style)
        if view.health != "none":
            text.append(f"  ♥ {visible(view.health)}", style=HEALTH_STYLE.get(view.health, ""))
            if view.health_note:
                text.append(f" ({view.health_note})", style="yellow")
        if view.uptime:
            text.append(f"  up {view.uptime}", style="dim")
        if view.replicas:
            text.append(f"  {view.replicas}", style="cyan")
        if view.pending:
            text.append(f"  ⟳ {view.pending}…", style="bold yellow")
    r = view.resources
    if r is not None and r.oom_text:
        text.append(f"  {r.oom_text} ", style="bold white on red")
    elif view.oom:
        text.append("  OOM-KILLED ", style="bold white on red")
    if view.crash_loop:
        text.append("  CRASH LOOP ", style="bold white on red")


def _line(text: str = "", style: str = "") -> Text:
    return Text(text, style=style, no_wrap=True, overflow="ellipsis")


def _mem(r: ResourceView) -> Text:
    mem = _line("mem ", LABEL)
    mem.append_text(memory_ruler_cells(r.ruler_width, r.ruler_filled, r.ruler_std, r.ruler_max, r.ruler_style))
    mem.append(" ")
    mem.append(r.mem_text, style=f"bold {r.ruler_style}" if r.running else "dim")
    return mem


def _limits(r: ResourceView) -> Text:
    limits = _line("    ")
    limits.append(r.limits_text, style="" if r.running else "dim")
    return limits


def _spark(r: ResourceView) -> Text:
    spark = _line("    ")
    spark.append(r.mem_spark, style=r.ruler_style)
    return spark


def _cpu(r: ResourceView) -> Text:
    cpu = _line("cpu ", LABEL)
    if r.running:
        cpu.append(r.cpu_spark, style=r.cpu_style or "cyan")
        cpu.append(f" {r.cpu_text}", style=r.cpu_style)
    else:
        cpu.append(r.cpu_text, style="dim")
    return cpu


def _net(r: ResourceView) -> Text:
    # The label as a span: Rich draws a Text with no spans in no style at all, its own included.
    net = _line()
    net.append("net ", style=LABEL)
    net.append(r.net_text)
    return net


def _state(view: ServiceView) -> Text:
    state = _line()
    _state_line(view, state)
    return state


def _image(view: ServiceView) -> Text:
    image = _line()
    image.append(visible(view.image) or "no image", style="italic grey62")
    if view.ports:
        image.append(" · ")
        image.append(visible("  ".join(view.ports)))
    return image


_RESOURCE_LINES = (_mem, _limits, _spark, _cpu, _net)


def line_keys(view: ServiceView) -> list[tuple[object, ...]]:
    """What each line of the panel is drawn from: a line whose key is unchanged is the same line, so a
    panel rebuilds (and repaints) only the lines whose key changed. Each key holds every field its line's
    builder reads."""
    r = view.resources
    state = (view.engine, view.state_text, view.state, view.exit_code, view.health, view.health_note,
             view.uptime, view.replicas, view.pending, r.oom_text if r is not None else "", view.oom, view.crash_loop)
    image = (view.image, view.ports)
    if r is None:
        return [state, (view.budget,), image]
    return [state, (r.ruler_width, r.ruler_filled, r.ruler_std, r.ruler_max, r.ruler_style, r.mem_text, r.running),
            (r.limits_text, r.running), (r.mem_spark, r.ruler_style), (r.running, r.cpu_spark, r.cpu_style, r.cpu_text),
            (r.net_text,), image]


def _style(style: str | Style) -> Style:
    # Style.parse keeps its own cache of what it parsed.
    return style if isinstance(style, Style) else Style.parse(style) if style else Style.null()


def line_segments(line: Text, width: int, base: Style, console: Console) -> list[Segment]:
    """The line as `width` cells of segments over the panel's own style `base`: what truncating a copy to
    the width (with an ellipsis), rendering it and applying `base` gives, without their cost in the common
    case (spans one after another, the line no wider than the panel), which is a tenth of it."""
    plain = line.plain
    used = cell_len(plain)
    spans = line.spans
    ordered = all(a.end <= b.start for a, b in itertools.pairwise(spans))
    if used > width or not ordered:
        slow = line.copy()
        slow.truncate(width, overflow="ellipsis", pad=True)
        return list(Segment.apply_style(slow.render(console), base))
    # Rich renders a Text without spans in no style at all, its own style included: so do we.
    line_style = base + _style(line.style) if spans else base
    segments: list[Segment] = []
    at = 0
    for span in spans:
        if span.start > at:
            segments.append(Segment(plain[at : span.start], line_style))
        if span.end > span.start:
            segments.append(Segment(plain[span.start : span.end], line_style + _style(span.style)))
        at = span.end
    if at < len(plain):
        segments.append(Segment(plain[at:], line_style))
    if used < width:
        segments.append(Segment(" " * (width - used), line_style))
    return segments


def service_line(view: ServiceView, y: int) -> Text:
    """Line y of the panel's body (see line_keys for what each is drawn from)."""
    r = view.resources
    last = 2 if r is None else 1 + len(_RESOURCE_LINES)
    if y == 0:
        return _state(view)
    if y == last:
        return _image(view)
    if r is None:
        return _line(view.budget, "dim" if view.budget == "no budget" else "")
    return _RESOURCE_LINES[y - 1](r)


def service_lines(view: ServiceView) -> list[Text]:
    """The panel's body, a Text per line, as a pure function of its view.

    Every string from the engine or a file (state, health, image, ports) goes in as text through
    `visible`: Text.append never parses markup, and no control character reaches the terminal.
    """
    return [service_line(view, y) for y in range(len(line_keys(view)))]


def render_service(view: ServiceView) -> Text:
    """The panel's body as one Text."""
    return Text("\n", no_wrap=True, overflow="ellipsis").join(service_lines(view))


class ServicePanel(Widget, can_focus=True):
    """Renders one ServiceView line by line; a new view repaints only the lines that changed.

    A stats tick usually changes one or two lines of a panel (CPU, a sparkline): Textual then redraws
    those lines alone, not the panel, its border and its other lines.
    """

    DEFAULT_CLASSES = "service-panel"

    def on_key(self, event: events.Key) -> None:
        # Keys that came with `/` in one read (typed fast, pasted) were routed here before the filter took the
        # focus: they are the filter's ("/red" filters on "red"; it must not restart the service and open the
        # events). Handed to the input that has the focus now, never to this panel's keys.
        focused = self.screen.focused
        if isinstance(focused, Input) and focused is not self:
            event.stop()
            event.prevent_default()
            focused.post_message(events.Key(event.key, event.character))

    def __init__(self, view: ServiceView) -> None:
        super().__init__(id=panel_id(view.name))
        self.auto_links = False  # no links in a panel: skip Textual's per-strip link styling
        self.service = view.name
        self.view = view
        self._lines: list[Text] = service_lines(view)
        self._keys = line_keys(view)
        self._strips: dict[int, Strip] = {}
        self._base_style: Style | None = None  # the panel's colours, looked up once per restyle
        self._width_for: object = None  # the widget size that _width was worked out for
        self._width = 0
        self.border_title = panel_title(view)
        self._apply_chrome(view)

    def render(self) -> Text:
        return Text("\n").join(self._lines)

    def render_line(self, y: int) -> Strip:
        strip = self._strips.get(y)
        if strip is None:
            strip = self._strips[y] = self._render_strip(y)
        return strip

    def content_width(self) -> int:
        """The width lines are drawn to (0 before the first layout); content_size walks the compositor's
        map, so it is worked out once per size, not once per line drawn."""
        if self._width_for != self._size:
            self._width_for = self._size
            self._width = self.content_size.width
        return self._width

    def _render_strip(self, y: int) -> Strip:
        width = self.content_width()
        if y >= len(self._lines) or width <= 0:
            return Strip.blank(max(0, width), self.rich_style)
        if self._base_style is None:
            self._base_style = self.rich_style
        # The panel's own colour (dimmed when off) under the line's styles, as render() would apply it.
        return Strip(line_segments(self._lines[y], width, self._base_style, self.app.console), width)

    class Resized(Message):
        """The panel's width changed: its gauges must be drawn again at the new width."""

        def __init__(self, service: str) -> None:
            super().__init__()
            self.service = service

    def on_resize(self) -> None:
        self._strips.clear()
        self.post_message(self.Resized(self.service))

    def notify_style_update(self) -> None:
        # Focus, tone classes, a new theme: the panel's colours changed, so every line is drawn anew.
        super().notify_style_update()
        self._base_style = None
        self._strips.clear()

    def show(self, view: ServiceView) -> bool:
        """Adopt a new view; returns whether anything visible changed."""
        if view == self.view:
            return False
        old = self.view
        self.view = view
        keys = line_keys(view)
        width = self.content_width()
        if len(keys) != len(self._keys):
            changed = list(range(max(len(keys), len(self._keys))))
            self._lines = service_lines(view)
        else:
            changed = [y for y, (new, was) in enumerate(zip(keys, self._keys, strict=True)) if new != was]
            for y in changed:
                self._lines[y] = service_line(view, y)
        self._keys = keys
        for y in changed:
            self._strips.pop(y, None)
        if (old.tone, old.wanted, old.membership) != (view.tone, view.wanted, view.membership):
            self._strips.clear()  # the panel's colour changes every line
            self._apply_chrome(view)
            self.refresh()
        elif changed:
            # The panel's size never depends on its content: no layout, and only the changed lines.
            self.refresh(*(Region(0, y, width, 1) for y in changed))
        return True

    def _apply_chrome(self, view: ServiceView) -> None:
        self.border_subtitle = panel_subtitle(view)
        for tone in TONES:
            self.set_class(view.tone == tone, f"-{tone}")
        self.set_class(view.wanted, "-wanted")
