"""Fuzzing: random bytes, escape sequences and markup through everything that shows text from containers and
files. Nothing may raise, and nothing but SGR styling may reach the terminal as a control sequence."""

from __future__ import annotations

import io
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Text

from skid_tui.cli.output import SafeConsole
from skid_tui.cli.status import status_table
from skid_tui.present import rich_text
from skid_tui.safe_text import is_safe, strip_sgr, terminal_line, visible, visible_lines

FRAGMENTS = [
    "\x1b]0;PWNED\x07", "\x1b[2J", "\x1b[10;10H", "\x1b[31m", "\x1b[0m", "\x1b[38;5;200m", "\x1b[38;2;1;2;3m",
    "\x1b[48;2;999;2m", "\x1b]8;;http://e\x1b\\link\x1b]8;;\x1b\\", "\x1bP+q\x1b\\", "\x9b2J", "\x1b[?1049h",
    "\x1b[?1000h", "\x1bc", "\r", "\n", "\t", "\x00", "\x7f", "\x08", "\x1b", "[", "[/]", "[/x]", "[bold red]x[/]",
    "[link=http://e]l[/link]", "oops[/nope]", "[@click=app.quit]q[/]", "\\[", "]", "$", "${A}", "\ud800", "é", "界",
]  # fmt: skip

# What a container can print: arbitrary bytes decoded the way skid decodes them, or hostile fragments mixed
# with ordinary text.
hostile = st.one_of(
    st.binary(max_size=200).map(lambda b: b.decode("utf-8", "replace")),
    st.binary(max_size=200).map(lambda b: b.decode("utf-8", "surrogateescape")),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12)), max_size=12).map("".join),
)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff]")  # all but newline
SGR = re.compile(r"\x1b\[[0-9;]*m")


def assert_only_sgr(output: str) -> None:
    """A terminal's output: once Rich's own SGR styling is taken out, no control character may be left."""
    leftover = CONTROL.search(SGR.sub("", output))
    assert leftover is None, f"control character {leftover.group()!r} reached the terminal in {output!r}"


def colour_console() -> Console:
    return SafeConsole(file=io.StringIO(), force_terminal=True, color_system="truecolor", width=100)


@FUZZ
@given(hostile)
def test_visible_leaves_no_control_character(s):
    shown = visible(s)
    assert CONTROL.search(shown) is None and "\n" not in shown
    assert is_safe(shown)
    assert visible(shown) == shown  # idempotent: what is shown once is shown the same again


@FUZZ
@given(hostile)
def test_strip_sgr_and_visible_lines_leave_no_control_character(s):
    assert CONTROL.search(strip_sgr(s)) is None and "\n" not in strip_sgr(s)
    assert CONTROL.search(visible_lines(s)) is None


@FUZZ
@given(hostile)
def test_rich_text_renders_only_styles(s):
    text = rich_text(s, style="green")
    assert text.plain == strip_sgr(s)  # what the reader sees is what searches match
    console = Console(file=io.StringIO(), force_terminal=True, color_system="truecolor", width=100)
    console.print(text, soft_wrap=True)
    assert_only_sgr(console.file.getvalue())


@FUZZ
@given(hostile)
def test_terminal_line_keeps_only_sgr(s):
    assert_only_sgr(terminal_line(s))


@FUZZ
@given(st.lists(st.tuples(hostile, hostile, hostile, hostile), min_size=1, max_size=4))
def test_status_table_shows_text_as_text(cells):
    rows = [{"service": a, "state": b, "health": c, "container": d, "exit_code": None} for a, b, c, d in cells]
    console = colour_console()
    console.print(status_table(rows))
    # and text given to print directly, as lifecycle and build output is
    console.print(cells[0][0])
    console.print(Text(cells[0][1]))
    assert_only_sgr(console.file.getvalue())


def test_markup_in_a_status_cell_is_shown_literally():
    console = SafeConsole(file=io.StringIO(), width=200)
    console.print(status_table([{"service": "bad[/x]", "state": "[bold red]x[/]", "health": "[link=http://e]l[/link]",
                                 "container": "\x1b]0;PWNED\x07", "exit_code": None}]))
    out = console.file.getvalue()
    for literal in ("bad[/x]", "[bold red]x[/]", "[link=http://e]l[/link]", "^[]0;PWNED^G"):
        assert literal in out


def test_no_hyperlink_or_escape_reaches_a_colour_terminal():
    console = colour_console()
    console.print(status_table([{"service": "[link=http://e]l[/link]", "state": "running", "health": None,
                                 "container": "\x1b]8;;http://e\x1b\\x\x1b]8;;\x1b\\", "exit_code": None}]))
    out = console.file.getvalue()
    assert "\x1b]8" not in out and "\x1b]" not in out
    assert "[link=http://e]l[/link]" in out
