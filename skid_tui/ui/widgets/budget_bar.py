"""The strip under the header: stack memory against the profile's host budget, the engine, the host,
and, when host memory runs short, which services to stop."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from skid_tui.safe_text import visible
from skid_tui.ui.views import BudgetBarView

BAR_CELLS = 20


def render_budget_bar(view: BudgetBarView) -> Text:
    """Text, never markup; the hint names services (from files), made visible like every name."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(" stack ", style="bold")
    if view.budget_fraction is not None:
        filled = round(view.budget_fraction * BAR_CELLS)
        text.append("█" * filled, style=view.budget_style)
        text.append("░" * (BAR_CELLS - filled), style="grey35")
        text.append(" ")
    text.append(view.stack_used, style=f"bold {view.budget_style}")
    text.append(f" of {view.budget} budget", style="grey62")
    if view.engine:
        text.append("  │  ", style="grey35")
        text.append(visible(view.engine))
    text.append("  │  ", style="grey35")
    text.append(view.host, style=view.host_style)
    if view.hint:
        text.append("\n ⚠ ", style="bold yellow")
        text.append(visible(view.hint), style="yellow")
    return text


class BudgetBar(Widget):
    def __init__(self, view: BudgetBarView) -> None:
        super().__init__(id="budget-bar")
        self.auto_links = False
        self.view = view
        self._body = render_budget_bar(view)
        self.set_class(bool(view.hint), "-hint")

    def render(self) -> Text:
        return self._body

    def show(self, view: BudgetBarView) -> None:
        if view == self.view:
            return
        hint_changed = bool(view.hint) != bool(self.view.hint)
        self.view = view
        self._body = render_budget_bar(view)
        self.set_class(bool(view.hint), "-hint")  # two lines with a hint: a layout change
        self.refresh(layout=hint_changed)
