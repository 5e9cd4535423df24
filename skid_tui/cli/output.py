"""How the command line writes: a Console that shows text from containers and files as text, and one-line
messages on stderr."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.segment import Segment
from rich.text import Text

from skid_tui.safe_text import is_safe, visible, visible_lines

EXIT_USAGE = 2  # bad input: a config error, an unknown option or profile
EXIT_ENGINE = 1  # no engine answered, or it failed mid-way


class SafeConsole(Console):
    """A Console that never parses markup and shows every control character of what it prints as text.

    Names, labels, images and compose output come from containers and files: a `[bold]` in a label stays
    `[bold]`, an ESC in a container name reaches the terminal as `^[`. Only Rich's own styling (control
    segments and styles) reaches the terminal as escape sequences.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(markup=False, highlight=False, emoji=False, **kwargs)

    def render_str(self, text: str, **kwargs: Any) -> Text:
        # Strings (table cells, print arguments) are made visible before layout, so columns fit what shows.
        kwargs["markup"] = False
        return super().render_str(visible_lines(text), **kwargs)

    def render(self, renderable: RenderableType, options: ConsoleOptions | None = None) -> RenderResult:
        # The backstop: a Text built from data elsewhere is made visible here, at the last moment.
        for segment in super().render(renderable, options):
            if segment.control is None and not is_safe(segment.text):
                yield Segment(visible_lines(segment.text), segment.style)
            else:
                yield segment


def say(message: str) -> None:
    """One line on stderr; text from files or the engine in it is shown, not obeyed."""
    print(visible(message), file=sys.stderr)
