"""The user's own settings: `$XDG_CONFIG_HOME/skid-tui/config.toml` (else `~/.config/skid-tui/config.toml`).

Every setting is optional; the file is read with the standard library's `tomllib`:

    theme = "textual-dark"        # a theme name (checked against the names the caller passes)
    refresh = 1.0                 # seconds between stats ticks, 0.5 to 10
    stats = "auto"                # auto, cgroup, api or agent
    compose = ["a.yml", "b.yml"]  # default compose files; relative paths are relative to the config file
    profile = "minimal"           # default profile name
    idle_stop = "10m"             # idle stop timeout for on-demand services: 90s, 10m, 1h, or "off"
    mouse = true
    history = "100MB"             # the history database's size bound, or false (keep no history)

    [keys]
    "app.toggle" = "space,enter"  # binding id -> comma-separated Textual key names
    "app.logs" = "o"

A bad file never stops skid: a missing file means the defaults, a file TOML cannot read is one issue and the
defaults, and every other problem is one issue naming the file and line while the rest of the file applies.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from skid_tui.stack.sizes import parse_duration as compose_duration
from skid_tui.stack.sizes import parse_size

SETTINGS = ("theme", "refresh", "stats", "compose", "profile", "idle_stop", "mouse", "history", "keys")
HISTORY_MIN = 1024 * 1024  # bytes: below this the size bound would drop the last hour at a few services
STATS_MODES = ("auto", "cgroup", "api", "agent")
REFRESH_RANGE = (0.5, 10.0)
MODIFIERS = ("ctrl", "shift", "alt", "meta")

# The names Textual gives punctuation keys (textual.keys._character_to_key): a binding may say "/" or
# "slash", and both must count as the same key when looking for clashes.
PUNCTUATION_NAMES = {
    "!": "exclamation_mark", '"': "quotation_mark", "#": "number_sign", "$": "dollar_sign",
    "%": "percent_sign", "&": "ampersand", "'": "apostrophe", "(": "left_parenthesis",
    ")": "right_parenthesis", "*": "asterisk", "+": "plus", ",": "comma", "-": "minus", ".": "full_stop",
    "/": "slash", ":": "colon", ";": "semicolon", "<": "less_than_sign", "=": "equals_sign",
    ">": "greater_than_sign", "?": "question_mark", "@": "at", "[": "left_square_bracket", "\\": "backslash",
    "]": "right_square_bracket", "^": "circumflex_accent", "_": "underscore", "`": "grave_accent",
    "{": "left_curly_bracket", "|": "vertical_line", "}": "right_curly_bracket", "~": "tilde",
}  # fmt: skip
NAMED_KEYS = frozenset(
    {
        "space", "enter", "escape", "tab", "backspace", "delete", "insert", "home", "end", "pageup",
        "pagedown", "up", "down", "left", "right",
        *(f"f{n}" for n in range(1, 25)),
        *PUNCTUATION_NAMES.values(),
    }
)  # fmt: skip
# Terminals send these pairs as one key, so Textual fires a binding on either (textual.keys.KEY_ALIASES).
KEY_ALIASES = {"ctrl+i": "tab", "ctrl+m": "enter"}

# Binding scopes active at the same time: the panels (their grid) live inside the app's screen.
SHARED_SCOPES = {"panel": "app"}

_OFF_WORDS = frozenset({"0", "off", "never"})
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOML_AT_END = re.compile(r"\s*\(at end of document\)\s*$")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in the config file, shown to the user as `FILE:LINE: message` (line 0: not known)."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}: {self.message}"
        return f"{self.file}: {self.message}"


@dataclass(frozen=True)
class UserConfig:
    """The settings the user's file gave; None / () / empty means "not set: use skid's default".

    `idle_stop` is in seconds. Because None there is also how the user says "off", `idle_stop_set` tells
    the two apart: False = not in the file (skid's default applies), True with `idle_stop` None = off.
    `keys` maps binding id -> comma-separated keys, only for bindings the user remapped (and that passed
    every check). `path` is the file read (None when there was none).
    """

    theme: str | None = None
    refresh: float | None = None
    stats: str | None = None
    compose: tuple[str, ...] = ()
    profile: str | None = None
    idle_stop: float | None = None
    idle_stop_set: bool = False
    mouse: bool | None = None
    history: int | None = None  # the history database's size bound in bytes; 0: keep no history
    # Read-only so the frozen config cannot be changed through it; left out of the hash (a mapping has none).
    keys: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    path: Path | None = None


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where the user's config file lives, following the XDG base directory spec."""
    env = os.environ if environ is None else environ
    xdg = env.get("XDG_CONFIG_HOME", "")
    # The spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
    if xdg and os.path.isabs(xdg):
        base = Path(xdg)
    else:
        home = env.get("HOME")
        base = (Path(home) if home else Path.home()) / ".config"
    return base / "skid-tui" / "config.toml"


def parse_duration(text: str) -> float | None:
    """Seconds in "90s", "10m", "1h", "1h30m" or a plain number of seconds (compose's durations, read by
    stack.sizes, in any case); None for "0", "off", "never". Raises ValueError for anything else."""
    s = text.strip().lower()
    if s in _OFF_WORDS:
        return None
    try:
        seconds = compose_duration(s)
    except ValueError:
        raise ValueError(f"not a duration: {text!r} (expected e.g. 90s, 10m, 1h or off)") from None
    return seconds or None  # "0s" is as off as "0"


def unknown_theme(config: UserConfig, themes: Collection[str]) -> ConfigIssue | None:
    """The config's theme checked by the dashboard, which alone knows the themes (the CLI does not load Textual)."""
    if config.theme is None or config.theme in themes:
        return None
    name = str(config.path or config_path())
    try:
        line = _KeyLines(Path(name).read_text(encoding="utf-8")).setting("theme")
    except OSError:
        line = 0
    return ConfigIssue(name, line, f"unknown theme '{config.theme}' (expected one of: {', '.join(sorted(themes))})")


def keymap(config: UserConfig) -> dict[str, str]:
    """The mapping for Textual's `App.set_keymap`: binding id -> keys."""
    return dict(config.keys)


def load_config(
    path: Path | None = None,
    *,
    bindings: Mapping[str, str] | None = None,
    themes: Collection[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[UserConfig, list[ConfigIssue]]:
    """Read the user's config file (default: `config_path(environ)`) and check every setting.

    `bindings` maps every known binding id to its default keys (to reject unknown ids and find clashes);
    `themes` the known theme names. Either may be None to skip those checks. Issues come sorted by line.
    """
    if path is None:
        path = config_path(environ)
    name = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return UserConfig(), []  # no file is the usual case, not a problem
    except OSError as e:
        return UserConfig(path=path), [ConfigIssue(name, 0, f"cannot read the config file: {e.strerror or e}")]
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as e:
        return UserConfig(path=path), [ConfigIssue(name, 0, f"not UTF-8 text: {e.reason} at byte {e.start}")]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        return UserConfig(path=path), [_toml_issue(name, text, str(e))]

    lines = _KeyLines(text)
    checker = _Checker(name, path, lines, themes)
    values: dict[str, Any] = {"path": path}
    for key, value in data.items():
        if key not in SETTINGS:
            checker.issue(lines.setting(key), f"unknown setting {key!r} (expected one of: {', '.join(SETTINGS)})")
        elif key == "keys":
            values["keys"] = checker.keys(value, bindings)
        else:
            values.update(getattr(checker, key)(value))
    config = replace(UserConfig(), **values)
    return config, sorted(checker.issues, key=lambda i: i.line)


def _toml_issue(name: str, text: str, message: str) -> ConfigIssue:
    """TOML's own error, with its "(at line N, column M)" turned into the issue's line."""
    if m := _TOML_POSITION.search(message):
        return ConfigIssue(name, int(m.group(1)), f"not valid TOML: {message[: m.start()]} (column {m.group(2)})")
    if m := _TOML_AT_END.search(message):
        return ConfigIssue(name, max(1, len(text.splitlines())), f"not valid TOML: {message[: m.start()]} at the end")
    return ConfigIssue(name, 0, f"not valid TOML: {message}")


def _kind(value: object) -> str:
    """How an error message names a TOML value's type."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return "a date/time"


class _Checker:
    """One method per setting: each returns the fields to set, or records an issue and returns nothing."""

    def __init__(self, name: str, path: Path, lines: _KeyLines, themes: Collection[str] | None) -> None:
        self.name, self.path, self.lines, self.themes = name, path, lines, themes
        self.issues: list[ConfigIssue] = []

    def issue(self, line: int, message: str) -> None:
        self.issues.append(ConfigIssue(self.name, line, message))

    def bad(self, setting: str, message: str) -> dict[str, Any]:
        self.issue(self.lines.setting(setting), message)
        return {}

    def theme(self, value: object) -> dict[str, Any]:
        if not isinstance(value, str):
            return self.bad("theme", f"theme must be a theme name (a string), not {_kind(value)}")
        if self.themes is not None and value not in self.themes:
            known = ", ".join(sorted(self.themes))
            return self.bad("theme", f"unknown theme {value!r} (expected one of: {known})")
        return {"theme": value}

    def refresh(self, value: object) -> dict[str, Any]:
        low, high = REFRESH_RANGE
        if isinstance(value, bool) or not isinstance(value, int | float):
            return self.bad("refresh", f"refresh must be a number of seconds ({low:g} to {high:g}), not {_kind(value)}")
        if not low <= value <= high:  # also false for nan
            return self.bad("refresh", f"refresh must be between {low:g} and {high:g} seconds, not {value:g}")
        return {"refresh": float(value)}

    def stats(self, value: object) -> dict[str, Any]:
        modes = ", ".join(STATS_MODES)
        if not isinstance(value, str):
            return self.bad("stats", f"stats must be one of {modes}, not {_kind(value)}")
        if value not in STATS_MODES:
            return self.bad("stats", f"unknown stats mode {value!r} (expected one of: {modes})")
        return {"stats": value}

    def compose(self, value: object) -> dict[str, Any]:
        files = [value] if isinstance(value, str) else value
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            return self.bad("compose", f"compose must be a file name or a list of file names, not {_kind(value)}")
        if any(not f.strip() for f in files):
            return self.bad("compose", "compose has an empty file name")
        # Relative to the config file, not to wherever skid happens to be started.
        base = self.path.absolute().parent
        return {"compose": tuple(str(base / Path(f).expanduser()) for f in files)}

    def profile(self, value: object) -> dict[str, Any]:
        if not isinstance(value, str):
            return self.bad("profile", f"profile must be a profile name (a string), not {_kind(value)}")
        if not value.strip():
            return self.bad("profile", "profile is empty (expected a profile name)")
        return {"profile": value}

    def idle_stop(self, value: object) -> dict[str, Any]:
        expected = 'a duration like "90s", "10m", "1h", or "off"'
        if value is False:
            return {"idle_stop": None, "idle_stop_set": True}
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            return self.bad("idle_stop", f"idle_stop must be {expected}, not {_kind(value)}")
        if not isinstance(value, str):  # a bare number is seconds
            if not value >= 0:
                return self.bad("idle_stop", f"idle_stop must be {expected}, not {value:g}")
            return {"idle_stop": float(value) or None, "idle_stop_set": True}
        try:
            seconds = parse_duration(value)
        except ValueError:
            return self.bad("idle_stop", f"idle_stop must be {expected}, not {value!r}")
        return {"idle_stop": seconds, "idle_stop_set": True}

    def history(self, value: object) -> dict[str, Any]:
        expected = 'a size like "100MB" or "1GB", or false (keep no history)'
        if value is False or (isinstance(value, str) and value.strip().lower() in _OFF_WORDS):
            return {"history": 0}
        if isinstance(value, bool) or not isinstance(value, str | int):
            return self.bad("history", f"history must be {expected}, not {_kind(value)}")
        try:
            size = parse_size(value)
        except ValueError:
            return self.bad("history", f"history must be {expected}, not {value!r}")
        if size < HISTORY_MIN:
            return self.bad("history", f"history must be at least 1MB (or false), not {value!r}")
        return {"history": size}

    def mouse(self, value: object) -> dict[str, Any]:
        if not isinstance(value, bool):
            return self.bad("mouse", f"mouse must be true or false, not {_kind(value)}")
        return {"mouse": value}

    def keys(self, value: object, bindings: Mapping[str, str] | None) -> Mapping[str, str]:
        if not isinstance(value, dict):
            self.bad("keys", f'keys must be a table of binding id = "keys", not {_kind(value)}')
            return MappingProxyType({})
        wanted: dict[str, str] = {}
        for binding_id, given in _flatten(value):
            line = self.lines.binding(binding_id)
            if bindings is not None and binding_id not in bindings:
                self.issue(line, f"unknown binding id {binding_id!r} (`skid keys` lists them)")
                continue
            keys = given
            if isinstance(given, list) and all(isinstance(k, str) for k in given):
                keys = ",".join(given)  # a list of keys reads better than one string to some
            if not isinstance(keys, str):
                self.issue(line, f'keys for {binding_id} must be a string like "ctrl+l,f5", not {_kind(keys)}')
                continue
            names = [k.strip() for k in keys.split(",")]
            if not keys.strip():
                self.issue(line, f'keys for {binding_id} are empty (expected key names like "ctrl+l,f5")')
                continue
            if "" in names:
                self.issue(line, f"keys for {binding_id} have an empty key name: {keys!r}")
                continue
            if bad := next((k for k in names if not _is_key(k)), None):
                self.issue(line, f"{bad!r} is not a key name")
                continue
            wanted[binding_id] = ",".join(names)
        for binding_id in self._clashes(wanted, bindings or {}):
            del wanted[binding_id]
        return MappingProxyType(wanted)

    def _clashes(self, wanted: Mapping[str, str], defaults: Mapping[str, str]) -> set[str]:
        """Report keys that two bindings active together share; return the user's mappings to drop.

        Only clashes the user caused are reported, and their mappings dropped so the defaults keep working.
        Dropping one can bring back a default that clashes with another of the user's keys: so repeat.
        """
        dropped: set[str] = set()
        while True:
            # A mapping equal to the default is no remapping: it cannot be to blame.
            changed = {
                b for b, keys in wanted.items()
                if b not in dropped and _key_set(keys) != _key_set(defaults.get(b, ""))
            }  # fmt: skip
            effective = {**defaults, **{b: k for b, k in wanted.items() if b not in dropped}}
            holders: dict[tuple[str, str], list[str]] = {}
            shown: dict[tuple[str, str], str] = {}
            for binding_id, keys in effective.items():
                scope = binding_id.split(".", 1)[0]
                scope = SHARED_SCOPES.get(scope, scope)
                for written in dict.fromkeys(k.strip() for k in keys.split(",") if k.strip()):
                    slot = (scope, _canonical(written))
                    if binding_id not in holders.setdefault(slot, []):
                        holders[slot].append(binding_id)
                    if binding_id in changed or slot not in shown:
                        shown[slot] = written  # name the key as the user wrote it
            found = False
            for slot, ids in holders.items():
                blamed = [b for b in ids if b in changed]
                if len(ids) < 2 or not blamed:
                    continue
                found = True
                names = sorted(ids)
                who = f"{', '.join(names[:-1])} and {names[-1]}"
                if len(names) == 2:
                    who = f"both {who}"
                lines = [line for b in blamed if (line := self.lines.binding(b))]
                self.issue(min(lines, default=0), f"key {shown[slot]!r} is bound to {who}")
                dropped.update(blamed)
            if not found:
                return dropped


def _flatten(table: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """`app.toggle = "x"` unquoted is a nested table in TOML: join the parts back into the binding id."""
    out: list[tuple[str, Any]] = []
    for key, value in table.items():
        if isinstance(value, dict):
            out.extend(_flatten(value, f"{prefix}{key}."))
        else:
            out.append((f"{prefix}{key}", value))
    return out


def _is_key(name: str) -> bool:
    """A key Textual can bind: a printable character or a key name, after optional modifiers."""
    if len(name) == 1:
        return name.isprintable() and not name.isspace()
    *mods, base = name.split("+")
    if any(m not in MODIFIERS for m in mods):
        return False
    return base in NAMED_KEYS or (len(base) == 1 and base.isprintable() and not base.isspace())


def _canonical(key: str) -> str:
    """One spelling per key, so "/" and "slash", "ctrl+m" and "enter" count as the same key."""
    *mods, base = key.split("+") if len(key) > 1 else [key]
    joined = "+".join([*mods, PUNCTUATION_NAMES.get(base, base)])
    return KEY_ALIASES.get(joined, joined)


def _key_set(keys: str) -> frozenset[str]:
    return frozenset(_canonical(k.strip()) for k in keys.split(",") if k.strip())


class _KeyLines:
    """Where each key sits in the file's text: tomllib gives values, not positions.

    A light scan, not a TOML parser: table headers and `key = ` lines, skipping comments and the inside
    of multi-line strings. Good enough to point the user at a line; 0 when nothing matches.
    """

    def __init__(self, text: str) -> None:
        self.entries: list[tuple[tuple[str, ...], int]] = []
        table: tuple[str, ...] = ()
        in_string: str | None = None  # the quotes closing an open multi-line string
        for number, raw in enumerate(text.splitlines(), 1):
            if in_string:
                if raw.count(in_string) % 2 == 1:
                    in_string = None
                continue
            line = raw.strip()
            if line.startswith("["):
                start = 2 if line.startswith("[[") else 1
                if (got := _key_parts(line, start)) is not None:
                    table = tuple(got[0])
                    self.entries.append((table, number))
                continue
            got = _key_parts(line, 0)
            if got is None or not line[got[1] :].startswith("="):
                continue
            self.entries.append((table + tuple(got[0]), number))
            rest = line[got[1] + 1 :]
            for quotes in ('"""', "'''"):
                if rest.count(quotes) % 2 == 1:
                    in_string = quotes

    def setting(self, name: str) -> int:
        """The first line setting a top-level key: `name = ...`, `name.x = ...` or a `[name]` header."""
        return next((n for path, n in self.entries if path[:1] == (name,)), 0)

    def binding(self, binding_id: str) -> int:
        """The line giving a binding's keys in the [keys] table (else the line of `keys` itself)."""
        for path, number in self.entries:
            if path[:1] == ("keys",) and ".".join(path[1:]) == binding_id:
                return number
        return self.setting("keys")


def _key_parts(line: str, pos: int) -> tuple[list[str], int] | None:
    """The dotted key starting at `pos` (bare or quoted parts) and where it ends; None if there is none."""
    parts: list[str] = []
    while True:
        pos = _skip_space(line, pos)
        if pos >= len(line):
            return None
        if line[pos] == '"':
            end = pos + 1
            while end < len(line) and line[end] != '"':
                end += 2 if line[end] == "\\" else 1
            if end >= len(line):
                return None
            try:  # let tomllib undo the escapes
                part = tomllib.loads(f"k = {line[pos : end + 1]}")["k"]
            except tomllib.TOMLDecodeError:
                return None
            pos = end + 1
        elif line[pos] == "'":
            end = line.find("'", pos + 1)
            if end < 0:
                return None
            part, pos = line[pos + 1 : end], end + 1
        elif m := _BARE_KEY.match(line, pos):
            part, pos = m.group(), m.end()
        else:
            return None
        parts.append(part)
        pos = _skip_space(line, pos)
        if pos < len(line) and line[pos] == ".":
            pos += 1
            continue
        return parts, pos


def _skip_space(line: str, pos: int) -> int:
    while pos < len(line) and line[pos] in " \t":
        pos += 1
    return pos
