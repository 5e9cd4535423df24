"""`?`: every key the dashboard answers to, from the key table with the config file's [keys] applied (ops.keys)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from skid_tui.ui.keys import bind


def help_text(sections: list[tuple[str, list[tuple[str, str]]]]) -> Text:
    """Two columns laid out by hand: a Rich table squeezed its keys into their descriptions whenever
    the list grew long enough to scroll. Text, never markup: a key or a description may hold a "["."""
    width = max((len(keys) for _, rows in sections for keys, _ in rows), default=0) + 2
    text = Text(no_wrap=True, overflow="ellipsis")
    for title, rows in sections:
        text.append(f"{title}\n", style="bold cyan")
        for keys, what in rows:
            text.append(keys.ljust(width), style="bold cyan")
            text.append(f"{what}\n")
        text.append("\n")
    text.append("esc, q, ?".ljust(width) + "close this help", style="dim")
    return text


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        bind("help.close", "dismiss"),
    ]

    def __init__(self, sections: list[tuple[str, list[tuple[str, str]]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        body = help_text(self.sections)
        with VerticalScroll(id="help-body"):
            yield Static(body, markup=False)

    def on_mount(self) -> None:
        self.query_one("#help-body").border_title = "Keys"
