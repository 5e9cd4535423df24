"""`e`: what happened to the project's containers, newest first, in words ("api died (exit 137, OOM-killed)"),
with each service's restarts and the crash loops (ops.events). Live: new events appear as they come."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from skid_tui.ops.events import Timeline, describe
from skid_tui.safe_text import visible
from skid_tui.ui.keys import bind

BAD = ("died", "OOM", "unhealthy", "killed", "ran out")


def timeline_text(timeline: Timeline, services: list[str], now: datetime, since: str) -> Text:
    """The restart summary, then every event newest first. Names and words are data: Text, never markup."""
    events = timeline.events(newest_first=False)
    words = describe(events)
    looping = timeline.crash_looping(now)
    text = Text()
    counts = [(s, timeline.restarts(s)) for s in services]
    restarted = [(s, n) for s, n in counts if n]
    text.append("restarts  ", style="bold")
    if restarted:
        for s, n in restarted:
            text.append(f"{visible(s)} {n}", style="bold red" if s in looping else "")
            if s in looping:
                text.append(" (crash loop)", style="bold red")
            text.append("   ")
    else:
        text.append("none", style="dim")
    text.append(f"\n{since}\n\n", style="dim")
    if not events:
        text.append("no events yet", style="dim")
    for event, said in reversed(list(zip(events, words, strict=True))):
        text.append(f"{event.at.astimezone():%Y-%m-%d %H:%M:%S}  ", style="dim")
        text.append(visible(said) + "\n", style="red" if any(w in said for w in BAD) else "")
    return text


class EventsScreen(ModalScreen[None]):
    BINDINGS = [bind("events.close", "dismiss")]

    def __init__(self, render: Callable[[], Text]) -> None:
        super().__init__()
        self.render_timeline = render

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="events-body"):
            yield Static(self.render_timeline(), id="events-text", markup=False)

    def on_mount(self) -> None:
        self.query_one("#events-body").border_title = "events"

    def refresh_timeline(self) -> None:
        self.query_one("#events-text", Static).update(self.render_timeline())
