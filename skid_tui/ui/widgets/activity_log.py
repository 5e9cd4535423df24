"""The activity log: every compose command skid runs, exactly as run, and what it printed."""

from __future__ import annotations

import time

from textual.widgets import Log

from skid_tui.safe_text import visible


class ActivityLog(Log):
    """A plain-string log (only visible lines are drawn), bounded, at the foot of the dashboard."""

    DEFAULT_CLASSES = "activity-log"

    def __init__(self) -> None:
        super().__init__(id="activity", max_lines=2000, highlight=False, auto_scroll=True)
        self.border_title = "activity"

    def say(self, text: str) -> None:
        """One line with the time in front."""
        # Log writes its strings to the screen as they are: compose output and names are made visible first.
        self.write_line(f"{time.strftime('%H:%M:%S')} {visible(text)}")

    def output(self, lines: list[str]) -> None:
        """Lines of a tool's output, indented under the command that printed them."""
        self.write_lines([f"         │ {visible(line)}" for line in lines])
