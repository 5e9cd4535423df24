"""`?`: every key the dashboard answers to, read from the live bindings so it never goes stale."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def binding_rows(bindings: list[BindingType]) -> list[tuple[str, str]]:
    rows = []
    for b in bindings:
        if not isinstance(b, Binding) or not b.description:
            continue
        keys = ", ".join(k.strip() for k in b.key.split(","))
        rows.append((keys.replace("question_mark", "?").replace("slash", "/").replace("ctrl+", "ctrl-"), b.description))
    return rows


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "Close help", id="help.close"),
    ]

    def __init__(self, sections: list[tuple[str, list[tuple[str, str]]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for title, rows in self.sections:
            table.add_row(f"[b]{title}[/b]", "")
            for keys, what in rows:
                table.add_row(keys, what)
            table.add_row("", "")
        table.add_row("[dim]esc, q, ?[/dim]", "[dim]close this help[/dim]")
        with VerticalScroll(id="help-body"):
            yield Static(table)

    def on_mount(self) -> None:
        self.query_one("#help-body").border_title = "Keys"
