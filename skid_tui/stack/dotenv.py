"""The `.env` file beside the first compose file: variables for interpolation, as compose reads it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from .interpolate import InterpolationError, interpolate
from .limits import MAX_FILE_BYTES, InputTooLarge, describe_size, read_bounded
from .model import ConfigIssue, Location

_ASSIGN = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$$"}
LINE_EXPECTED = "expected KEY=VALUE"


def read_dotenv(
    path: Path, display: str, environ: Mapping[str, str]
) -> tuple[dict[str, str], list[ConfigIssue]]:
    """Variables from a .env file; a missing file is no variables. Values may use `${...}` of the
    process environment or of lines above; single-quoted values are taken literally."""
    if not path.exists():
        return {}, []
    loc = Location(display)
    try:
        # bounded, and never blocking: a FIFO or /dev/zero named .env must not hang or fill memory
        text = read_bounded(path).decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        return {}, [
            ConfigIssue(loc, f"cannot read .env file: {reason}", "expected a readable KEY=VALUE file")
        ]
    except InputTooLarge as e:
        expected = f"expected a regular KEY=VALUE file of at most {describe_size(MAX_FILE_BYTES)}"
        return {}, [ConfigIssue(loc, f"cannot read .env file: {e.reason}", expected)]
    values: dict[str, str] = {}
    issues: list[ConfigIssue] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        loc = Location(display, number, len(raw) - len(raw.lstrip()) + 1)
        if line.startswith("export ") or line.startswith("export\t"):
            line = line[len("export") :].lstrip()
        m = _ASSIGN.match(line)
        if not m:
            # never echo the line: it may hold a secret
            issues.append(ConfigIssue(loc, "invalid line in .env", LINE_EXPECTED))
            continue
        key, rest = m.group(1), m.group(2)
        try:
            value, expand = _value(rest)
            if expand:
                # compose looks a variable up in the process environment first, then in lines above
                value = interpolate(value, {**values, **environ})
        except InterpolationError as e:
            if e.message.startswith("invalid interpolation"):  # do not echo the value: a secret?
                issues.append(ConfigIssue(loc, f"invalid interpolation format in {key}", e.expected))
            else:
                issues.append(ConfigIssue(loc, e.message, e.expected))
            continue
        except ValueError as e:
            issues.append(ConfigIssue(loc, f"{e} for {key}", "expected a closing quote on the same line"))
            continue
        values[key] = value
    return values, issues


def _value(rest: str) -> tuple[str, bool]:
    """The value of one line and whether it is interpolated."""
    if rest.startswith("'"):
        end = rest.find("'", 1)
        if end < 0:
            raise ValueError("unterminated quoted value")
        return rest[1:end], False
    if rest.startswith('"'):
        out, i = [], 1
        while i < len(rest):
            c = rest[i]
            if c == "\\" and i + 1 < len(rest):
                nxt = rest[i + 1]
                out.append(_ESCAPES.get(nxt, "\\" + nxt))
                i += 2
                continue
            if c == '"':
                return "".join(out), True
            out.append(c)
            i += 1
        raise ValueError("unterminated quoted value")
    # unquoted: an inline comment starts at a `#` after whitespace
    return re.split(r"\s+#", rest, maxsplit=1)[0].strip(), True
