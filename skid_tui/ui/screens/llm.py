"""Before an on-demand start that does not fit: what to stop to make room, or start anyway."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from skid_tui.model.planning import StartCheck
from skid_tui.safe_text import visible
from skid_tui.stack import format_bytes
from skid_tui.ui.keys import bind


def explain(check: StartCheck) -> Text:
    text = Text()
    text.append(visible(check.service), style="bold")
    text.append(f" may use up to {format_bytes(check.need)}; the engine has {format_bytes(check.free)} free "
                f"({format_bytes(check.shortfall)} short).\n\n")
    if check.suggestions:
        text.append("Stopping these would free ")
        text.append(format_bytes(check.freed), style="bold green")
        text.append(":\n")
        for service, mem in check.suggestions:
            text.append(f"  • {visible(service)}", style="bold")
            text.append(f"  {format_bytes(mem)}\n")
    else:
        text.append("Nothing running could be stopped to make room.\n")
    return text


class StartCheckScreen(ModalScreen[str | None]):
    """Returns "stop-and-start", "start" or None (cancel)."""

    BINDINGS = [
        bind("start-check.stop", "choose('stop-and-start')"),
        bind("start-check.anyway", "choose('start')"),
        bind("start-check.cancel", "choose(None)"),
    ]

    def __init__(self, check: StartCheck) -> None:
        super().__init__()
        self.check = check

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(explain(self.check), classes="dialog-body")
            with Horizontal(classes="dialog-buttons"):
                if self.check.suggestions:
                    yield Button("Stop them, then start (s)", id="stop-and-start", variant="primary")
                yield Button("Start anyway (a)", id="start", variant="warning")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        # A Text title: a str border title is parsed as markup, and the service's name is data.
        self.query_one(".dialog").border_title = Text(f"Not enough memory for {visible(self.check.service)}")
        self.query_one(Button).focus()

    def action_choose(self, choice: str | None) -> None:
        if choice == "stop-and-start" and not self.check.suggestions:
            return
        self.dismiss(choice)

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None if event.button.id == "cancel" else event.button.id)
