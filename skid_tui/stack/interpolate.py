"""Compose variable interpolation: `$VAR`, `${VAR:-default}`, `${VAR:?error}`, `$$`...

Written as a small recursive parser rather than a regex so that defaults may hold `${...}` and
only the branch that is used is evaluated (`${A:-${B:?}}` does not fail when A is set).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from .limits import MAX_DEPTH
from .model import ConfigIssue, Location
from .yamlloc import YNode

_NAME = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
FORMAT_EXPECTED = "expected ${VAR}, ${VAR:-default} or ${VAR-default}"
# Values of variables named like these are secrets: never echo them (DEVELOPERS.md). The one definition.
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|KEY", re.IGNORECASE)
DEPTH_MESSAGE = f"variable interpolation nested more than {MAX_DEPTH} levels deep"
DEPTH_EXPECTED = f"expected at most {MAX_DEPTH} levels of ${{...}} inside ${{...}}"
# Fragments of secrets shorter than this are not masked inside messages: "a" would mask every "a".
_MIN_MASKED = 3


def is_secret_name(name: str) -> bool:
    """Whether a variable's name says its value is a secret."""
    return bool(SECRET_NAME.search(name))


class InterpolationError(ValueError):
    """A string cannot be interpolated; `message` and `expected` make one ConfigIssue."""

    def __init__(self, message: str, expected: str) -> None:
        self.message = message
        self.expected = expected
        super().__init__(f"{message} ({expected})")


class _Malformed(Exception):
    pass


def interpolate(
    text: str,
    variables: Mapping[str, str],
    missing: set[str] | None = None,
    secrets: dict[str, str] | None = None,
) -> str:
    """Expand compose variables in text. Unset variables without a default become "" and are
    added to `missing` (compose warns about them). Each secret-named variable whose value went
    into the result is added to `secrets` (name -> value). Raises InterpolationError."""
    parser = _Parser(text, variables, missing, {} if secrets is None else secrets)
    try:
        out, _ = parser.expand(0, inside_braces=False, evaluate=True)
    except _Malformed:
        raise InterpolationError(f'invalid interpolation format for "{text}"', FORMAT_EXPECTED) from None
    except RecursionError:  # the depth limit comes first; this is only a last line of defence
        raise InterpolationError(DEPTH_MESSAGE, DEPTH_EXPECTED) from None
    return out


class _Parser:
    def __init__(
        self, text: str, variables: Mapping[str, str], missing: set[str] | None, secrets: dict[str, str]
    ) -> None:
        self.text = text
        self.variables = variables
        self.missing = missing
        self.secrets = secrets
        self.depth = 0  # `${` inside `${` being read

    def value(self, name: str, evaluate: bool) -> str:
        """A set variable's value, noted if it is a secret that goes into the result."""
        value = self.variables[name]
        if evaluate and value and is_secret_name(name):
            self.secrets[name] = value
        return value

    def lookup(self, name: str, evaluate: bool) -> str:
        if name in self.variables:
            return self.value(name, evaluate)
        if evaluate and self.missing is not None:
            self.missing.add(name)
        return ""

    def expand(self, i: int, *, inside_braces: bool, evaluate: bool) -> tuple[str, int]:
        """Expand from i up to the end, or up to the `}` closing a `${` (returned index points at it)."""
        text, out = self.text, []
        while i < len(text):
            c = text[i]
            if c == "}" and inside_braces:
                return "".join(out), i
            if c != "$":
                out.append(c)
                i += 1
                continue
            nxt = text[i + 1 : i + 2]
            if nxt == "$":
                out.append("$")
                i += 2
            elif nxt == "{":
                value, i = self.braced(i + 2, evaluate)
                out.append(value)
            elif m := _NAME.match(text, i + 1):
                out.append(self.lookup(m.group(), evaluate))
                i = m.end()
            else:
                out.append("$")  # a lone `$` (`cost $5`) stays as written, as in compose
                i += 1
        if inside_braces:
            raise _Malformed  # `${` never closed
        return "".join(out), i

    def braced(self, i: int, evaluate: bool) -> tuple[str, int]:
        """Expand `${...}` whose name starts at i; returns the value and the index after `}`."""
        # each level costs two Python frames: stop long before the interpreter's limit
        if self.depth >= MAX_DEPTH:
            raise InterpolationError(DEPTH_MESSAGE, DEPTH_EXPECTED)
        self.depth += 1
        try:
            return self._braced(i, evaluate)
        finally:
            self.depth -= 1

    def _braced(self, i: int, evaluate: bool) -> tuple[str, int]:
        text = self.text
        m = _NAME.match(text, i)
        if not m:
            raise _Malformed
        name, i = m.group(), m.end()
        if text[i : i + 1] == "}":
            return self.lookup(name, evaluate), i + 1
        op = text[i : i + 2] if text[i : i + 2] in (":-", ":?", ":+") else text[i : i + 1]
        if op not in (":-", ":?", ":+", "-", "?", "+"):
            raise _Malformed
        i += len(op)
        is_set = name in self.variables
        usable = is_set and (self.variables[name] != "" or not op.startswith(":"))
        if op[-1] == "-":
            use_arg = not usable
        elif op[-1] == "+":
            use_arg = usable
        else:  # "?": the argument is the error message
            use_arg = not usable
        start, known = i, len(self.secrets)
        arg, i = self.expand(i, inside_braces=True, evaluate=evaluate and use_arg)
        i += 1  # the closing brace
        if not evaluate:
            return "", i
        if op[-1] == "-":
            return (arg if use_arg else self.value(name, evaluate)), i
        if op[-1] == "+":
            return (arg if use_arg else ""), i
        if use_arg:
            # the message as written if a secret went into it (`${A:?${DB_PASSWORD}}`)
            shown = arg if len(self.secrets) == known else self.text[start : i - 1]
            detail = f": {shown}" if shown else ""
            raise InterpolationError(
                f"required variable {name} is missing a value{detail}",
                f"expected {name} set in the environment or in .env",
            )
        return self.value(name, evaluate), i


@dataclass(frozen=True)
class Redaction:
    """A value interpolated from secret-named variables: what was written, what it became."""

    source: str  # as written: `${DB_PASSWORD}`
    value: str  # as interpolated: never shown
    secrets: tuple[str, ...]  # the secret values that went into it, longest first


Redactions = dict[Location, Redaction]


def interpolate_tree(
    tree: YNode,
    variables: Mapping[str, str],
    missing: dict[str, Location] | None = None,
    redactions: Redactions | None = None,
) -> list[ConfigIssue]:
    """Interpolate every string value of a loaded file in place (keys are left alone, as compose
    does). Unset variables are recorded in `missing` with the first place they were used; values a
    secret-named variable went into are recorded in `redactions` by location, for redact_issues."""
    issues: list[ConfigIssue] = []
    for path, node in tree.walk():
        if not isinstance(node.value, str) or "$" not in node.value:
            continue
        used: set[str] = set()
        secrets: dict[str, str] = {}
        source = node.value
        try:
            node.value = interpolate(node.value, variables, used, secrets)
            if secrets and redactions is not None:
                ordered = tuple(sorted(set(secrets.values()), key=len, reverse=True))
                redactions[node.loc] = Redaction(source, node.value, ordered)
        except InterpolationError as e:
            message = e.message
            if _is_secret(path, node.value) and message.startswith("invalid interpolation"):
                message = 'invalid interpolation format for "***"'
            issues.append(ConfigIssue(node.loc, message, e.expected))
            continue
        if missing is not None:
            for name in sorted(used):
                missing.setdefault(name, node.loc)
    return issues


def _is_secret(path: tuple[str | int, ...], text: str) -> bool:
    """Whether a value belongs to a secret-looking variable: by its key, or `NAME=...` in a list."""
    key = path[-1] if path else ""
    if isinstance(key, str) and is_secret_name(key):
        return True
    name = text.split("=", 1)[0] if "=" in text else ""
    return bool(_NAME.fullmatch(name) and is_secret_name(name))


def redact_issues(issues: list[ConfigIssue], redactions: Redactions) -> list[ConfigIssue]:
    """Issues about values that came from secret-named variables, quoting what was written instead.

    Every error that quotes a value (sizes, CPUs, ports, any field) is made at the value's location,
    so matching by location covers them all without each message knowing about secrets: the quoted
    value becomes the source text (`'${DB_PASSWORD}'`), and any fragment of a secret left in the
    message (`99999 is out of range`) becomes `***`.
    """
    if not redactions:
        return issues
    return [
        replace(i, message=_redact(i.message, r), expected=_redact(i.expected, r))
        if (r := redactions.get(i.location)) is not None
        else i
        for i in issues
    ]


def _redact(text: str, r: Redaction) -> str:
    mark = "\x00\x01source\x01\x00"  # the quoted source goes back in after masking
    if r.value:
        for quoted in (f"'{r.value}'", f'"{r.value}"', repr(r.value)):
            text = text.replace(quoted, mark)
    for secret in r.secrets:
        if len(secret) >= _MIN_MASKED:
            text = text.replace(secret, "***")
    return text.replace(mark, f"'{r.source}'")


def missing_variable_warnings(missing: Mapping[str, Location]) -> list[ConfigIssue]:
    """One warning per unset variable, at its first use (compose prints the same warning)."""
    return [
        ConfigIssue(
            loc,
            f"variable {name} is not set, using an empty string",
            f"expected {name} set in the environment or in .env",
            severity="warning",
        )
        for name, loc in missing.items()
    ]
