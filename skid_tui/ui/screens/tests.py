"""`t`: pick test suites and a memory limit; enter runs the chosen suites one after another."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import SelectionList, Static
from textual.widgets.selection_list import Selection

from skid_tui.safe_text import visible
from skid_tui.stack import TestSuite, format_bytes
from skid_tui.ui.keys import bind

LEVELS = ("low", "medium", "high")  # the strategy's --memory-limit words, in the order keys 1 2 3 pick them


@dataclass(frozen=True)
class TestRequest:
    """What the picker returns: suites in the order listed, and the memory limit word."""

    __test__ = False  # not a pytest test class, whatever its name

    suites: tuple[str, ...]
    memory_limit: str


def limit_text(chosen: str, sizes: dict[str, int]) -> Text:
    text = Text("memory limit  ")
    for i, level in enumerate(LEVELS, 1):
        label = f" {i} {level} {format_bytes(sizes[level])} "
        text.append(label, style="bold reverse" if level == chosen else "dim")
        text.append(" ")
    text.append("  m cycles", style="grey50")
    return text


class SuitePickerScreen(ModalScreen[TestRequest | None]):
    """Space marks suites, enter runs the marked ones (or the highlighted one), 1 2 3 or m set the limit."""

    BINDINGS = [
        bind("tests.close", "dismiss(None)"),
        bind("tests.run", "run", priority=True),
        bind("tests.all", "run_all"),
        bind("tests.limit", "cycle_limit"),
        bind("tests.low", "limit('low')"),
        bind("tests.medium", "limit('medium')"),
        bind("tests.high", "limit('high')"),
    ]

    def __init__(self, suites: dict[str, TestSuite], sizes: dict[str, int], memory_limit: str = "medium") -> None:
        super().__init__()
        self.suites = suites
        self.sizes = sizes
        self.memory_limit = memory_limit if memory_limit in LEVELS else "medium"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -wide"):
            yield SelectionList[str](*(self._selection(s) for s in self.suites.values()), id="suites")
            yield Static(limit_text(self.memory_limit, self.sizes), id="limit")
            yield Static(Text("space marks suites · enter runs the marked ones (or the highlighted one) · a runs all · "
                              "each runs in a fresh container with this memory limit; an OOM kill is reported as such",
                              style="dim"), classes="dialog-hint")

    @staticmethod
    def _selection(suite: TestSuite) -> Selection[str]:
        label = Text(suite.name, style="bold")
        what = suite.description or suite.shown_command()
        label.append(f"  {visible(what)}", style="dim")  # from the compose file: shown, not obeyed
        return Selection(label, suite.name)

    def on_mount(self) -> None:
        self.query_one(".dialog").border_title = "Test suites: enter runs, esc closes"
        self.query_one(SelectionList).focus()

    def action_limit(self, level: str) -> None:
        self.memory_limit = level
        self.query_one("#limit", Static).update(limit_text(level, self.sizes))

    def action_cycle_limit(self) -> None:
        self.action_limit(LEVELS[(LEVELS.index(self.memory_limit) + 1) % len(LEVELS)])

    def action_run(self) -> None:
        picker = self.query_one(SelectionList)
        chosen = [name for name in self.suites if name in picker.selected]
        if not chosen and picker.highlighted is not None:
            chosen = [picker.get_option_at_index(picker.highlighted).value]
        if chosen:
            self.dismiss(TestRequest(tuple(chosen), self.memory_limit))

    def action_run_all(self) -> None:
        if self.suites:
            self.dismiss(TestRequest(tuple(self.suites), self.memory_limit))
