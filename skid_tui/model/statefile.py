"""skid's legacy state files (`peaks.json`, `active-profile.json` under $XDG_STATE_HOME/skid-tui), and the
warnings skid's own state gives.

Peaks and the active profile live in the history database now (model.history); it imports these files
once, through `load`, and nothing writes them any more. Reading stays bounded and validated, because what
is there was left by an older skid, a dotfiles checkout or a crash:
- a FIFO, a device, a directory (or a symlink to one), or a file skid may not read: ignored, one warning,
  left as it is;
- too big, not UTF-8, not JSON, NaN/Infinity, nested too deep, or not a JSON object: set aside (renamed
  `NAME.bad-YYYYmmddTHHMMSS`, nothing deleted), one warning;
- a JSON object with some invalid entries: the valid entries are used, one warning, the file left as it is
  (it is never written, so nothing is lost by keeping it).
A symlink to a regular file is followed (a dotfiles checkout may link the state dir's files); setting one
aside renames its target.

Warnings (these files', and the history database's) are one line each and said once per front end: the
CLI prints them on stderr, the dashboard as a notification and in its activity log (`set_warning_handler`).
Until a handler is set they wait in a list.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import stat
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skid_tui.stack.limits import describe_size

MAX_STATE_BYTES = 1024 * 1024  # a project of 1,000 services takes about 60 KiB of peaks
NAME_SHOWN = 60  # characters of a project or service name quoted in a warning

Validator = Callable[[dict[str, Any]], tuple[dict[str, Any], list[str]]]


def state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """$XDG_STATE_HOME/skid-tui, else ~/.local/state/skid-tui."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_STATE_HOME") or str(Path(environ.get("HOME") or Path.home()) / ".local" / "state")
    return Path(base) / "skid-tui"


# -- warnings ------------------------------------------------------------------------------------------

_lock = threading.Lock()
_handler: Callable[[str], None] | None = None
_pending: list[str] = []
_said: set[str] = set()


def set_warning_handler(handler: Callable[[str], None] | None) -> None:
    """Deliver state-file warnings to `handler` from now on (None: keep them for `take_warnings`).

    Warnings that waited for a handler are delivered to it at once. Each distinct warning reaches a
    handler once: a history write retried every few seconds on a locked database does not repeat itself.
    """
    global _handler
    with _lock:
        _handler = handler
        waiting = list(_pending) if handler is not None else []
        if handler is not None:
            _pending.clear()
        _said.clear()
        _said.update(waiting)
    for message in waiting:
        _deliver(handler, message)


def take_warnings() -> list[str]:
    """The warnings no handler has taken, oldest first; the list is emptied."""
    with _lock:
        taken = list(_pending)
        _pending.clear()
    return taken


def warn(message: str) -> None:
    """One line about a state file: to the handler, else kept until one is set or they are taken."""
    with _lock:
        if message in _said:
            return
        _said.add(message)
        handler = _handler
        if handler is None:
            _pending.append(message)
            return
    _deliver(handler, message)


def _deliver(handler: Callable[[str], None] | None, message: str) -> None:
    if handler is None:
        return
    try:
        handler(message)
    except Exception:  # a front end gone (a closed app): reading or saving the state must not fail for it
        with _lock:
            _pending.append(message)


# -- reading -------------------------------------------------------------------------------------------


@dataclass
class StateFile:
    """What a state file holds that is valid (empty when it is missing, unusable or set aside)."""

    data: dict[str, Any] = field(default_factory=dict)


class _Invalid(Exception):
    """The file's content is unusable: set it aside. `where` is ':LINE:COL' when known."""

    def __init__(self, what: str, where: str = "") -> None:
        super().__init__(what)
        self.what = what
        self.where = where


class _Refused(Exception):
    """Not a regular file: left as it is."""


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a file"


def _position(raw: bytes, offset: int) -> str:
    line = raw.count(b"\n", 0, offset) + 1
    column = offset - (raw.rfind(b"\n", 0, offset) + 1) + 1
    return f":{line}:{column}"


def _no_constant(name: str) -> Any:
    raise _Invalid(f"{name} is not a number skid accepts (expected a finite number)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses as infinity
        raise _Invalid(f"{text[:20]} is not a number skid accepts (expected a finite number)")
    return value


def _parse(raw: bytes) -> Any:
    """The JSON in `raw`. Raises _Invalid with the position when JSON gives one."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Invalid("not UTF-8 text", _position(raw, exc.start)) from None
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        # "Unterminated string starting at" reads wrong once the position moves to the front.
        message = exc.msg.removesuffix(" starting at")
        raise _Invalid(f"invalid JSON ({message})", f":{exc.lineno}:{exc.colno}") from None
    except RecursionError:
        # The C scanner stops at the interpreter's recursion limit; no state file nests more than 3 deep.
        raise _Invalid("invalid JSON (nested too deeply)") from None
    except ValueError as exc:  # an integer of more than 4,300 digits
        raise _Invalid(f"invalid JSON ({str(exc).split(';')[0]})") from None


def _first_char(raw: bytes) -> str:
    stripped = raw.lstrip()
    return _position(raw, len(raw) - len(stripped))


def _set_aside(path: Path) -> Path:
    """Rename the file (a symlink's target: the link's own place may be a checkout) to NAME.bad-TIMESTAMP,
    never over an earlier one."""
    target = Path(os.path.realpath(path))
    stamp = time.strftime("%Y%m%dT%H%M%S")
    aside = target.with_name(f"{target.name}.bad-{stamp}")
    n = 1
    while os.path.lexists(aside):
        n += 1
        aside = target.with_name(f"{target.name}.bad-{stamp}-{n}")
    os.rename(target, aside)
    return aside


def _read(path: Path) -> bytes | None:
    """The file's bytes; None when it does not exist. Raises OSError (unreadable), _Refused or _Invalid."""
    try:
        st = os.stat(path)  # follows a symlink: what it points to decides
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode):
        raise _Refused(_not_regular(path, st.st_mode))
    if st.st_size > MAX_STATE_BYTES:
        raise _Invalid(f"{describe_size(st.st_size)}, more than the {describe_size(MAX_STATE_BYTES)} skid reads")
    # O_NONBLOCK: swapped for a FIFO after the stat, the open still returns at once; fstat then says so.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _Refused(_not_regular(path, st.st_mode))
        chunks: list[bytes] = []
        total = 0
        while total <= MAX_STATE_BYTES:  # at most the bound + 1 bytes: a file growing as it is read stops here
            chunk = os.read(fd, MAX_STATE_BYTES + 1 - total)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    finally:
        os.close(fd)
    if total > MAX_STATE_BYTES:
        raise _Invalid(f"more than the {describe_size(MAX_STATE_BYTES)} skid reads")
    return b"".join(chunks)


def _not_regular(path: Path, mode: int) -> str:
    via = ""
    if path.is_symlink():
        with contextlib.suppress(OSError):
            via = f", through a symlink to {os.readlink(path)}"
    return f"not a regular file ({_kind(mode)}{via})"


LEFT_ALONE = "ignored and left as it is"


def load(path: Path, validate: Validator, *, holds: str) -> StateFile:
    """Read a state file and keep what is valid; every problem is one warning, never an error.

    `validate` gets the top-level JSON object and returns its valid part and one line per entry dropped;
    `holds` says what the object maps (e.g. "projects") for the error when the top level is not an object.
    A broken file is set aside, by design: the user finds it under its new name rather than lost.
    """
    try:
        raw = _read(path)
        if raw is None:
            return StateFile()
        data = _parse(raw)
        if not isinstance(data, dict):
            raise _Invalid(f"expected a JSON object of {holds}, found {describe_value(data)}", _first_char(raw))
    except _Refused as exc:
        warn(f"{path}: {exc}: {LEFT_ALONE}")
        return StateFile()
    except _Invalid as exc:
        return _broken(path, f"{path}{exc.where}: {exc.what}")
    except OSError as exc:
        warn(f"{path}: cannot read it ({exc.strerror or exc}): {LEFT_ALONE}")
        return StateFile()
    valid, problems = validate(data)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        warn(f"{path}: {problems[0]}{more}: dropped, the rest kept")
    return StateFile(valid)


def _broken(path: Path, what: str) -> StateFile:
    try:
        aside = _set_aside(path)
    except OSError as exc:
        warn(f"{what}: {LEFT_ALONE} (it could not be set aside: {exc.strerror or exc})")
        return StateFile()
    warn(f"{what}: set aside as {aside.name}")
    return StateFile()


# -- describing entries --------------------------------------------------------------------------------


def shown_name(name: str) -> str:
    """A project or service name quoted in a warning, cut short: a key may be a megabyte long."""
    return repr(name if len(name) <= NAME_SHOWN else name[:NAME_SHOWN] + "…")


def text_problem(name: str) -> str | None:
    """Why a name from a state file cannot be kept, or None. JSON's escapes can spell a lone surrogate
    ("\\ud800"), which is no UTF-8 text: SQLite could not store it, a terminal could not show it."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "not valid text (a lone surrogate escape)"
    return None


def describe_value(value: Any) -> str:
    """What a wrong value is, briefly: "a list", "a string ('lots')", "true"."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"a string ({shown_name(value)})"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value)
    return text if len(text) <= 30 else text[:30] + "…"
