"""`p`: every profile against what runs now, with its totals, the budget, the engine, and a verdict."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from skid_tui.model.planning import ProfilePlan
from skid_tui.ops.lifecycle import basis_note
from skid_tui.present import VERDICT_STYLE
from skid_tui.safe_text import visible
from skid_tui.stack import format_bytes
from skid_tui.ui.keys import bind


def changes_text(names: tuple[str, ...], sign: str, style: str) -> Text:
    if not names:
        return Text("-", style="dim")
    return Text(f"{sign}{visible(', '.join(names))}", style=style)


def plan_row(plan: ProfilePlan, active: str | None) -> list[Text]:
    """Every cell a Text: DataTable parses a str cell as markup, and profile and service names are data."""
    marker = "● " if plan.profile.name == active else "  "
    star = "*" if plan.peaks_used else ""
    return [
        Text(marker + visible(plan.profile.name), style="bold" if plan.profile.name == active else ""),
        changes_text(plan.start, "+", "green"),
        changes_text(plan.stop, "−", "red"),
        Text(f"{format_bytes(plan.expected_total)}{star}"),
        Text(format_bytes(plan.maximum_total)),
        Text(format_bytes(plan.capacity)),
        Text(plan.verdict, style=VERDICT_STYLE[plan.verdict]),
    ]


def summary(plans: list[ProfilePlan], basis: Mapping[str, str] | None = None) -> Text:
    text = Text()
    free = next((p.engine_free for p in plans if p.engine_free is not None), None)
    text.append("Expected use is each service's standard allocation, or where higher its week's p95 from the "
                "history (else its recorded peak) (*). ", style="dim")
    text.append("fits", style="green")
    text.append(": even the maxima fit; ", style="dim")
    text.append("tight", style="yellow")
    text.append(": the expected use fits, the maxima do not. Room = the profile's host budget, or the engine's "
                "memory if smaller.", style="dim")
    if free is not None:
        text.append(f"\nThe engine has {format_bytes(free)} free now.")
    peaks = sorted({s for p in plans for s in p.peaks_used})
    if peaks:
        text.append(f"\n* counted {visible(basis_note(peaks, basis or {}))}", style="dim")
    return text


class ProfilePickerScreen(ModalScreen[str | None]):
    """Returns the chosen profile's name, or None."""

    BINDINGS = [
        bind("profiles.close", "dismiss(None)"),
        bind("profiles.apply", "choose", priority=True),
    ]

    def __init__(self, plans: list[ProfilePlan], active: str | None, basis: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.plans = plans
        self.active = active
        self.basis = dict(basis or {})  # service -> what it is counted at (ops.lifecycle.expected_use)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -wide"):
            yield DataTable(id="plans", cursor_type="row", zebra_stripes=True)
            yield Static(summary(self.plans, self.basis), classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(".dialog").border_title = "Profiles: enter applies, esc closes"
        table = self.query_one(DataTable)
        for label in ("profile", "starts", "stops", "expected", "maximum", "room", "verdict"):
            table.add_column(label, key=label)
        for plan in self.plans:
            table.add_row(*plan_row(plan, self.active), key=plan.profile.name)
        names = [p.profile.name for p in self.plans]
        if self.active in names:
            table.move_cursor(row=names.index(self.active))
        table.focus()

    def action_choose(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            self.dismiss(self.plans[table.cursor_row].profile.name)

    @on(DataTable.RowSelected)
    def selected(self, event: DataTable.RowSelected) -> None:
        self.dismiss(str(event.row_key.value))
