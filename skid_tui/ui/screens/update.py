"""`u`: new limits for the selected service's running containers, typed over the current ones; enter applies."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from skid_tui.engine.update import NANO, ContainerLimits
from skid_tui.ops.update import InvalidRequest, UpdateRequest, check_against, compose_size
from skid_tui.safe_text import visible
from skid_tui.stack.sizes import format_cpus
from skid_tui.ui.keys import bind

FIELDS = (("memory", "memory limit", "e.g. 768M"), ("reservation", "reservation", "e.g. 384M"),
          ("cpus", "cpus", "e.g. 1 or 0.5"))


def shown_size(n: int) -> str:
    """A size as typed back: `768M`, or blank for none (blank leaves it unchanged)."""
    return str(compose_size(n)) if n else ""


class UpdateScreen(ModalScreen[UpdateRequest | None]):
    """Returns the request (only the values that differ from the current ones), or None on escape."""

    BINDINGS = [bind("update.cancel", "cancel")]

    DEFAULT_CSS = """
    UpdateScreen {
        align: center middle;
    }
    UpdateScreen .update-row {
        height: 3;
    }
    UpdateScreen .update-row Label {
        width: 16;
        padding-top: 1;
    }
    UpdateScreen .update-row Input {
        width: 1fr;
    }
    UpdateScreen #update-error {
        height: auto;
        color: $error;
    }
    """

    def __init__(self, service: str, memory: int = 0, reservation: int = 0, cpus: float = 0.0) -> None:
        """The current values (bytes, cores; 0: none), from the service's container."""
        super().__init__()
        self.service = service
        self.current = ContainerLimits(memory=memory, reservation=reservation, nano_cpus=round(cpus * NANO))

    def compose(self) -> ComposeResult:
        values = {"memory": shown_size(self.current.memory), "reservation": shown_size(self.current.reservation),
                  "cpus": format_cpus(self.current.cpus) if self.current.cpus else ""}
        with Vertical(classes="dialog"):
            yield Static(Text("Changes the running containers now. The next `compose up` (or recreate) resets "
                              "them unless an override file keeps them.", style="dim"), classes="dialog-body")
            for key, label, placeholder in FIELDS:
                with Horizontal(classes="update-row"):
                    yield Label(label)
                    yield Input(values[key], placeholder=placeholder, id=f"update-{key}")
            yield Static("", id="update-error")
            yield Static(Text("enter applies · tab moves · esc cancels · blank: unchanged",
                              style="dim"), classes="dialog-hint")

    def on_mount(self) -> None:
        # A Text title: a str border title is parsed as markup, and the service's name is data.
        self.query_one(".dialog").border_title = Text(f"Limits of {visible(self.service)}")
        self.query_one("#update-memory", Input).focus()

    def value(self, key: str) -> str:
        return self.query_one(f"#update-{key}", Input).value

    def request(self) -> UpdateRequest:
        """What was typed, less what equals the current values; InvalidRequest says what is wrong."""
        if not any(self.value(key).strip() for key, _, _ in FIELDS):
            raise InvalidRequest("nothing to change: type a new value, or escape to cancel")
        typed = UpdateRequest.parse(self.service, self.value("memory"), self.value("reservation"), self.value("cpus"))
        current = self.current
        changed = UpdateRequest(
            self.service,
            None if typed.memory == current.memory else typed.memory,
            None if typed.reservation == current.reservation else typed.reservation,
            None if typed.cpus is None or abs(typed.cpus - current.cpus) < 0.005 else typed.cpus,
        )
        if changed.memory is None and changed.reservation is None and changed.cpus is None:
            raise InvalidRequest("nothing changed: type a new value, or escape to cancel")
        check_against(changed, self.service, current)
        return changed

    @on(Input.Submitted)
    def submitted(self) -> None:
        try:
            request = self.request()
        except InvalidRequest as exc:
            # Said in place: the screen stays, with what was typed.
            self.query_one("#update-error", Static).update(Text(visible(str(exc))))
            return
        self.dismiss(request)

    def action_cancel(self) -> None:
        self.dismiss(None)
