"""Questions before skid changes what runs: a yes/no, and a typed confirmation before deleting data."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from skid_tui.ui.keys import bind


class ConfirmScreen(ModalScreen[bool]):
    """Apply or cancel: `y`/enter or `n`/escape."""

    BINDINGS = [
        bind("confirm.yes", "answer(True)"),
        bind("confirm.no", "answer(False)"),
    ]

    def __init__(self, title: str, body: Text | str, yes: str = "Apply", no: str = "Cancel") -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.yes_label = yes
        self.no_label = no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.body, classes="dialog-body")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.yes_label} (y)", id="yes", variant="primary")
                yield Button(f"{self.no_label} (n)", id="no")

    def on_mount(self) -> None:
        self.query_one(".dialog").border_title = self.title_text
        self.query_one("#yes", Button).focus()

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class TypeToConfirmScreen(ModalScreen[bool]):
    """Nothing is deleted unless the user types the name of what goes: a slip of a key cannot do it."""

    BINDINGS = [bind("type-confirm.cancel", "cancel")]

    def __init__(self, title: str, body: Text | str, word: str) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.word = word

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -danger"):
            yield Static(self.body, classes="dialog-body")
            yield Input(placeholder=f"type {self.word} to confirm, escape to cancel", id="word")
            yield Static("", id="mismatch", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(".dialog").border_title = self.title_text
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        if event.value.strip() == self.word:
            self.dismiss(True)
        else:
            self.query_one("#mismatch", Static).update(f"that is not {self.word}: nothing was deleted")

    def action_cancel(self) -> None:
        self.dismiss(False)
