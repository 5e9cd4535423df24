"""Text that came from a container, the engine or a file, made safe to show on a terminal.

Log lines, container names, labels, image names, compose and build output, healthcheck output and profile
names are data. Nothing in them may reach the terminal as a control sequence (a title change, a cleared
screen, a moved cursor, an OSC 8 link) or be parsed as Rich markup. Two ways to show such text:

- `visible(s)`: one plain string in which every control character is shown as text, in caret notation
  (`^[` for ESC, `^G` for BEL, `^?` for DEL) or as `\\x9b` for the C1 controls. For names and labels.
- `sgr_segments(s)`: s cut at its SGR colour and emphasis sequences, each piece with the style in force,
  everything else shown as `visible` shows it. For log lines and command output; `present.rich_text`
  makes a Rich Text of it.

Stdlib only, so every layer may use it.
"""

from __future__ import annotations

import re
from typing import Any

# C0 (tab and newline included: a name or a log line is one line), DEL, C1, and lone surrogates, which a
# terminal cannot encode (bytes decoded with surrogateescape).
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# CSI ... m with numeric parameters only: the one escape sequence that may be rendered (as style).
_SGR = re.compile(r"\x1b\[([0-9;:]{0,64})m")
TAB_SIZE = 8


def _show(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return "^" + chr(code + 64)
    if code == 0x7F:
        return "^?"
    if code <= 0x9F:
        return f"\\x{code:02x}"
    return "\ufffd"


def is_safe(s: str) -> bool:
    """True when s holds no control character at all (it can be shown as it is)."""
    return _UNSAFE.search(s) is None


def visible(s: str) -> str:
    """s with every control character shown as text: `\\x1b]0;x\\x07` becomes `^[]0;x^G`."""
    if _UNSAFE.search(s) is None:
        return s
    return _UNSAFE.sub(_show, s)


def _visible_segment(s: str, column: int) -> str:
    """A piece of a log line: tabs expand to the next stop (as a terminal would), the rest as in visible."""
    if "\t" in s:
        parts = s.split("\t")
        out = [parts[0]]
        col = column + len(parts[0])
        for part in parts[1:]:
            pad = TAB_SIZE - col % TAB_SIZE
            out.append(" " * pad + part)
            col += pad + len(part)
        s = "".join(out)
    return visible(s)


def strip_sgr(s: str) -> str:
    """The text a reader sees in s: SGR sequences gone, every other control character visible.

    Searches and filters match this, so a match is where the reader sees it.
    """
    if _UNSAFE.search(s) is None:
        return s
    out: list[str] = []
    pos = column = 0
    for m in _SGR.finditer(s):
        piece = _visible_segment(s[pos : m.start()], column)
        out.append(piece)
        column += len(piece)
        pos = m.end()
    out.append(_visible_segment(s[pos:], column))
    return "".join(out)


# SGR parameters -> Style keyword changes. Blink and conceal are left out on purpose: hidden text is how a
# log line would hide what it says.
_FLAGS = {1: ("bold", True), 2: ("dim", True), 3: ("italic", True), 4: ("underline", True), 7: ("reverse", True),
          9: ("strike", True), 21: ("underline", True), 22: ("bold", None), 23: ("italic", None),
          24: ("underline", None), 27: ("reverse", None), 29: ("strike", None)}  # fmt: skip


def _extended_colour(params: list[int], i: int) -> tuple[str | None, int]:
    """38;5;N or 38;2;R;G;B starting at params[i] (the 38/48 itself): the colour and the next index."""
    if i + 1 < len(params):
        kind = params[i + 1]
        if kind == 5 and i + 2 < len(params):
            return f"color({min(params[i + 2], 255)})", i + 3
        if kind == 2 and i + 4 < len(params):
            r, g, b = (min(v, 255) for v in params[i + 2 : i + 5])
            return f"#{r:02x}{g:02x}{b:02x}", i + 5
    return None, len(params)


def _apply_sgr(state: dict[str, Any], raw: str) -> None:
    params = [int(p) if p.isdigit() else 0 for p in re.split("[;:]", raw)] if raw else [0]
    i = 0
    while i < len(params):
        p = params[i]
        if p == 0:
            state.clear()
        elif p in _FLAGS:
            key, value = _FLAGS[p]
            state[key] = value
            if p == 22:
                state["dim"] = None
        elif 30 <= p <= 37 or 90 <= p <= 97:
            state["color"] = f"color({p - 30 if p < 90 else p - 82})"
        elif 40 <= p <= 47 or 100 <= p <= 107:
            state["bgcolor"] = f"color({p - 40 if p < 100 else p - 92})"
        elif p == 39:
            state.pop("color", None)
        elif p == 49:
            state.pop("bgcolor", None)
        elif p in (38, 48):
            colour, i = _extended_colour(params, i)
            if colour:
                state["color" if p == 38 else "bgcolor"] = colour
            continue
        i += 1


def sgr_segments(s: str) -> list[tuple[str, dict[str, Any]]]:
    """s cut at its SGR sequences: each piece of text (made visible) with the style in force for it, as Rich
    Style keywords (`{"color": "color(1)", "bold": True}`). The presentation layer turns them into styles."""
    out: list[tuple[str, dict[str, Any]]] = []
    state: dict[str, Any] = {}
    pos = column = 0

    def piece(raw: str) -> None:
        nonlocal column
        text = _visible_segment(raw, column)
        out.append((text, {k: v for k, v in state.items() if v is not None}))
        column += len(text)

    for m in _SGR.finditer(s):
        if m.start() > pos:
            piece(s[pos : m.start()])
        _apply_sgr(state, m.group(1))
        pos = m.end()
    if pos < len(s):
        piece(s[pos:])
    return out


def terminal_line(s: str) -> str:
    """s for a terminal that renders colour: SGR sequences kept as they are, every other control visible.

    A line that leaves a colour on is reset at its end, so the next line (and the prompt) is not coloured.
    """
    if _UNSAFE.search(s) is None:
        return s
    out: list[str] = []
    pos = column = 0
    for m in _SGR.finditer(s):
        piece = _visible_segment(s[pos : m.start()], column)
        out += (piece, m.group())
        column += len(piece)
        pos = m.end()
    out.append(_visible_segment(s[pos:], column))
    if len(out) > 1:
        out.append("\x1b[0m")
    return "".join(out)


def visible_lines(s: str) -> str:
    """A block of text shown line by line: newlines stay, every other control character is made visible."""
    if _UNSAFE.search(s) is None:
        return s
    return "\n".join(visible(part) for part in s.split("\n"))
