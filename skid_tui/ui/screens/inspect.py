"""`i`: a service's containers as the engine describes them (ops.inspect), secrets masked until the user
reveals one: `n`/`N` pick a secret variable, `v` shows or hides its value."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from skid_tui.ops.inspect import ServiceInspect
from skid_tui.present import inspect_renderable
from skid_tui.ui.keys import bind


class InspectScreen(ModalScreen[None]):
    BINDINGS = [
        bind("inspect.close", "dismiss"),
        bind("inspect.next_secret", "pick(1)"),
        bind("inspect.previous_secret", "pick(-1)"),
        bind("inspect.reveal", "reveal"),
        bind("inspect.reload", "reload"),
    ]

    def __init__(self, service: str, load: Callable[[], ServiceInspect],
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        super().__init__()
        self.service = service
        self.load = load
        self.clock = clock
        self.result: ServiceInspect | None = None
        self.revealed: frozenset[str] = frozenset()
        self.selected: str | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="inspect-body"):
            yield Static(Text(f"reading {self.service}…", style="dim"), id="inspect-text", markup=False)
            yield Static(Text("n/N pick a secret · v show/hide it · r reload · esc close", style="dim"),
                         id="inspect-keys", markup=False)

    def on_mount(self) -> None:
        self.query_one("#inspect-body").border_title = f"inspect {self.service}"
        self.action_reload()

    def action_reload(self) -> None:
        self._read()

    @work(thread=True, exclusive=True, group="inspect", exit_on_error=False)
    def _read(self) -> None:
        result = self.load()
        self.app.call_from_thread(self._loaded, result)

    def _loaded(self, result: ServiceInspect) -> None:
        self.result = result
        names = self.secret_names()
        if self.selected not in names:
            self.selected = names[0] if names else None
        self.revealed &= frozenset(names)
        self._draw()

    def secret_names(self) -> list[str]:
        if self.result is None:
            return []
        return list(dict.fromkeys(v.name for c in self.result.containers for v in c.env if v.secret))

    def _draw(self) -> None:
        if self.result is None:
            return
        body = inspect_renderable(self.result, self.clock(), self.revealed, self.selected)
        self.query_one("#inspect-text", Static).update(body)

    def action_pick(self, step: int) -> None:
        names = self.secret_names()
        if not names:
            self.notify("no secret variable here", timeout=3)
            return
        at = names.index(self.selected) if self.selected in names else -step
        self.selected = names[(at + step) % len(names)]
        self._draw()

    def action_reveal(self) -> None:
        """Only the picked variable, and only until pressed again: a secret on screen is a choice, one at a time."""
        if self.selected is None:
            self.notify("no secret variable here", timeout=3)
            return
        self.revealed ^= {self.selected}
        self._draw()
