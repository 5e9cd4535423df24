"""State files (issue 9, items 4 and 5): peaks.json and active-profile.json are read bounded, validated,
set aside when broken, never written over when unreadable, and written atomically with nothing left behind."""

from __future__ import annotations

import json
import os
import stat
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skid_tui.model import PeakStore, statefile
from skid_tui.model.active import remember_profile, remembered_profile, valid_profiles
from skid_tui.model.peaks import valid_peaks

MiB = 1024**2
GOOD = {"other": {"db": {"peak_mem_bytes": 300 * MiB, "at": 1700000000.0}}}


@pytest.fixture(autouse=True)
def said() -> Iterator[list[str]]:
    """Every warning a state file gives, as the CLI or the dashboard would receive it."""
    lines: list[str] = []
    statefile.take_warnings()
    statefile.set_warning_handler(lines.append)
    yield lines
    statefile.set_warning_handler(None)
    statefile.take_warnings()


def quickly(fn: Callable[[], Any], seconds: float = 5.0) -> Any:
    """fn(), failing the test if it takes longer (a FIFO or a device read would block or never end)."""
    result: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(fn())
        except BaseException as exc:  # re-raised below, in the test's thread
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    if errors:
        raise errors[0]
    return result[0]


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def set_aside(directory: Path, name: str = "peaks.json") -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.name.startswith(f"{name}.bad-"))


def one_line(said: list[str]) -> str:
    assert len(said) == 1, said
    assert "\n" not in said[0]
    return said[0]


# -- what is not a regular file: ignored, never written over --------------------------------------------


def make_fifo(p: Path) -> str:
    os.mkfifo(p)
    return "a FIFO"


def make_zero_link(p: Path) -> str:
    p.symlink_to("/dev/zero")
    return "a character device, through a symlink to /dev/zero"


def make_directory(p: Path) -> str:
    p.mkdir()
    (p / "inside").write_text("kept")
    return "a directory"


def make_fifo_link(p: Path) -> str:
    os.mkfifo(p.with_name("elsewhere"))
    p.symlink_to(p.with_name("elsewhere"))
    return "a FIFO, through a symlink to"


@pytest.mark.parametrize("make", [make_fifo, make_zero_link, make_directory, make_fifo_link])
def test_what_is_not_a_regular_file_is_ignored_at_once_and_never_written_over(tmp_path, said, make):
    path = tmp_path / "peaks.json"
    kind = make(path)
    before = names(tmp_path)
    mode = os.lstat(path).st_mode

    store = quickly(lambda: PeakStore(path))
    assert store.recorded("other", "db") is None
    store.observe("proj", "api", 100)
    quickly(store.save)

    line = one_line(said)
    assert line.startswith(f"{path}: not a regular file ({kind}")
    assert line.endswith("ignored, and skid will not write over it")
    assert names(tmp_path) == before  # no temp file left, nothing renamed
    assert os.lstat(path).st_mode == mode


def test_remember_profile_leaves_an_unreadable_file_alone(tmp_path, said, monkeypatch):
    # A state dir of this test's own: the session-wide one may already hold an active-profile.json.
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    path = tmp_path / "skid-tui" / "active-profile.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    try:
        assert quickly(lambda: remembered_profile("proj")) is None
        quickly(lambda: remember_profile("proj", "app"))
        assert stat.S_ISFIFO(os.lstat(path).st_mode)
        assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]
        assert one_line(said).startswith(f"{path}: not a regular file (a FIFO)")
    finally:
        path.unlink()


def test_a_file_skid_may_not_read_is_not_written_over(tmp_path, said, monkeypatch):
    path = tmp_path / "peaks.json"
    path.write_text(json.dumps(GOOD))
    real_open = os.open

    def denied(p: Any, flags: int, *args: Any) -> int:
        if Path(p) == path:
            raise PermissionError(13, "Permission denied", str(p))
        return real_open(p, flags, *args)

    monkeypatch.setattr(os, "open", denied)  # as root, chmod 000 would not stop the read
    store = PeakStore(path)
    store.observe("proj", "api", 100)
    store.save()
    monkeypatch.undo()
    assert json.loads(path.read_text()) == GOOD
    assert names(tmp_path) == ["peaks.json"]
    assert one_line(said) == f"{path}: cannot read it (Permission denied): ignored, and skid will not write over it"


# -- a symlink to a regular file is followed -------------------------------------------------------------


def test_a_symlink_to_a_regular_file_is_read_and_written_through(tmp_path, said):
    real = tmp_path / "dotfiles" / "peaks.json"
    real.parent.mkdir()
    real.write_text(json.dumps(GOOD))
    link = tmp_path / "peaks.json"
    link.symlink_to(real)
    store = PeakStore(link)
    assert store.recorded("other", "db") == 300 * MiB
    store.observe("proj", "api", 100)
    store.save()
    assert link.is_symlink()
    saved = json.loads(real.read_text())
    assert saved["other"] == GOOD["other"] and saved["proj"]["api"]["peak_mem_bytes"] == 100
    assert names(real.parent) == ["peaks.json"] and said == []


# -- too big: set aside without being read ----------------------------------------------------------------


def test_a_100_mib_file_is_set_aside_unread(tmp_path, said):
    path = tmp_path / "peaks.json"
    with path.open("wb") as f:
        f.truncate(100 * MiB)  # sparse: the size is what matters, skid must not read it
    inode = path.stat().st_ino
    tracemalloc.start()
    try:
        store = quickly(lambda: PeakStore(path), seconds=2)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * MiB, f"{peak / MiB:.1f} MiB allocated"
    (aside,) = set_aside(tmp_path)
    assert aside.stat().st_ino == inode and aside.stat().st_size == 100 * MiB  # renamed, not copied or cut
    assert one_line(said) == f"{path}: 100.0 MiB, more than the 1.0 MiB skid reads: set aside as {aside.name}"
    store.observe("proj", "api", 100)
    store.save()
    assert json.loads(path.read_text()) == {"proj": {"api": {"peak_mem_bytes": 100, "at": pytest.approx(
        json.loads(path.read_text())["proj"]["api"]["at"])}}}


def test_a_file_that_grows_past_the_bound_as_it_is_read_is_set_aside(tmp_path, said, monkeypatch):
    path = tmp_path / "peaks.json"
    path.write_bytes(b" " * (2 * MiB))
    real_stat = os.stat

    def small(p: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        st = real_stat(p, *args, **kwargs)
        if isinstance(p, Path) and p == path:  # it was small when skid looked
            values = list(st)
            values[stat.ST_SIZE] = 10
            return os.stat_result(values)
        return st

    monkeypatch.setattr(os, "stat", small)
    tracemalloc.start()
    try:
        PeakStore(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    monkeypatch.undo()
    assert peak < 3 * MiB  # at most the bound + 1 bytes were read, and joined once
    (aside,) = set_aside(tmp_path)
    assert aside.stat().st_size == 2 * MiB
    assert one_line(said) == f"{path}: more than the 1.0 MiB skid reads: set aside as {aside.name}"


# -- invalid content: set aside, nothing lost ------------------------------------------------------------

WHOLE_FILE = [
    (b'{"other": {"db": {"peak_mem_bytes": 3', ":1:38: invalid JSON (Expecting ',' delimiter)"),
    (b"", ":1:1: invalid JSON (Expecting value)"),
    (b"[1, 2]", ":1:1: expected a JSON object of projects, found a list"),
    (b'\n  "lots"', ":2:3: expected a JSON object of projects, found a string ('lots')"),
    (b"null", ":1:1: expected a JSON object of projects, found null"),
    (b"42", ":1:1: expected a JSON object of projects, found 42"),
    (b'{"p": {"s": {"peak_mem_bytes": NaN}}}', ": NaN is not a number skid accepts"),
    (b'{"p": {"s": {"peak_mem_bytes": Infinity}}}', ": Infinity is not a number skid accepts"),
    (b'{"p": {"s": {"peak_mem_bytes": -Infinity}}}', ": -Infinity is not a number skid accepts"),
    (b'{"p": {"s": {"at": 1e999}}}', ": 1e999 is not a number skid accepts"),
    (b'{"p": {"s": {"peak_mem_bytes": ' + b"9" * 5000 + b"}}}", ": invalid JSON (Exceeds the limit (4300 digits)"),
    (b'{"p\xff": {}}', ":1:4: not UTF-8 text"),
    (b"[" * 100_000 + b"]" * 100_000, ": invalid JSON (nested too deeply)"),
    (b'{"a":' * 100_000 + b"{}" + b"}" * 100_000, ": invalid JSON (nested too deeply)"),
]


@pytest.mark.parametrize(("content", "said_after_path"), WHOLE_FILE, ids=range(len(WHOLE_FILE)))
def test_an_invalid_file_is_set_aside_as_it_was(tmp_path, said, content, said_after_path):
    path = tmp_path / "peaks.json"
    path.write_bytes(content)
    store = PeakStore(path)
    assert store.recorded("other", "db") is None
    (aside,) = set_aside(tmp_path)
    assert aside.read_bytes() == content  # whatever it held is still on disk, under the new name
    line = one_line(said)
    assert line.startswith(f"{path}{said_after_path}") and line.endswith(f": set aside as {aside.name}")
    # The next save writes a fresh file and leaves the set-aside one as it is.
    store.observe("proj", "api", 100)
    store.save()
    assert set(json.loads(path.read_text())) == {"proj"} and aside.read_bytes() == content
    assert names(tmp_path) == sorted(["peaks.json", aside.name])


ENTRIES = [
    ({"bad": []}, "project 'bad': expected an object of services, found a list"),
    ({"bad": "lots"}, "project 'bad': expected an object of services, found a string ('lots')"),
    ({"bad": {"s": "lots"}}, "project 'bad', service 's': expected an object with peak_mem_bytes, found a string"),
    ({"bad": {"s": [1]}}, "project 'bad', service 's': expected an object with peak_mem_bytes, found a list"),
    ({"bad": {"s": {"peak_mem_bytes": "lots"}}},
     "project 'bad', service 's': peak_mem_bytes is a string ('lots'), expected a whole number of bytes"),
    ({"bad": {"s": {"peak_mem_bytes": True}}}, "peak_mem_bytes is true, expected a whole number of bytes"),
    ({"bad": {"s": {"peak_mem_bytes": -1}}}, "peak_mem_bytes is -1, expected a whole number of bytes"),
    ({"bad": {"s": {"peak_mem_bytes": 1.5}}}, "peak_mem_bytes is 1.5, expected a whole number of bytes"),
    ({"bad": {"s": {"peak_mem_bytes": 10**30}}}, "peak_mem_bytes is 100000000000000000000000000000…, expected"),
    ({"bad": {"s": {"peak_mem_bytes": None}}}, "peak_mem_bytes is null, expected a whole number of bytes"),
    ({"bad": {"s": {"at": 1}}}, "peak_mem_bytes is null, expected a whole number of bytes"),
    ({"bad": {"s": {"peak_mem_bytes": 1, "at": "now"}}}, "at is a string ('now'), expected a unix time"),
    ({"bad": {"s": {"peak_mem_bytes": 1, "at": {}}}}, "at is an object, expected a unix time"),
    ({"b" * 500: []}, f"project '{'b' * 60}…': expected an object of services"),
]


@pytest.mark.parametrize(("bad", "problem"), ENTRIES, ids=range(len(ENTRIES)))
def test_an_invalid_entry_is_dropped_and_every_other_project_kept(tmp_path, said, bad, problem):
    path = tmp_path / "peaks.json"
    content = json.dumps({**GOOD, **bad, "third": {"s": {"peak_mem_bytes": 5}}})
    path.write_text(content)
    store = PeakStore(path)
    assert store.recorded("other", "db") == 300 * MiB and store.recorded("third", "s") == 5
    (aside,) = set_aside(tmp_path)
    assert aside.read_text() == content
    # The valid entries are on disk again at once: a command that saves nothing loses nothing.
    assert json.loads(path.read_text()) == {**GOOD, "third": {"s": {"peak_mem_bytes": 5, "at": 0.0}}}
    line = one_line(said)
    assert line.startswith(f"{path}: ") and problem in line
    assert line.endswith(f": dropped, the rest kept; the file as read is set aside as {aside.name}")


def test_several_bad_entries_are_one_line(tmp_path, said):
    path = tmp_path / "peaks.json"
    path.write_text(json.dumps({**GOOD, "a": [], "b": "x", "c": {"s": {"peak_mem_bytes": "lots"}}}))
    assert PeakStore(path).recorded("other", "db") == 300 * MiB
    assert "project 'a': expected an object of services, found a list (and 2 more): dropped" in one_line(said)


def test_an_invalid_file_that_cannot_be_set_aside_is_not_written_over(tmp_path, said, monkeypatch):
    path = tmp_path / "peaks.json"
    path.write_text('{"other": {"db": ')

    def refuse(*args: Any) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "rename", refuse)
    store = PeakStore(path)
    store.observe("proj", "api", 100)
    store.save()
    monkeypatch.undo()
    assert path.read_text() == '{"other": {"db": ' and names(tmp_path) == ["peaks.json"]
    assert one_line(said).endswith(
        ": ignored, and skid will not write over it (it could not be set aside: Permission denied)")


# -- the active profile ------------------------------------------------------------------------------------


def test_active_profile_keeps_the_valid_projects(private_state_dir, said):
    path = private_state_dir / "skid-tui" / "active-profile.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"mine": "app", "odd": 3, "worse": ["x"]}))
    try:
        assert remembered_profile("mine") == "app" and remembered_profile("odd") is None
        assert json.loads(path.read_text()) == {"mine": "app"}
        assert "project 'odd': expected a profile name, found 3 (and 1 more): dropped, the rest kept" in one_line(said)
        remember_profile("new", "llm")
        assert json.loads(path.read_text()) == {"mine": "app", "new": "llm"}
    finally:
        for p in path.parent.glob("active-profile.json*"):
            p.unlink()


def test_skid_up_does_not_overwrite_a_truncated_active_profile(private_state_dir, said):
    path = private_state_dir / "skid-tui" / "active-profile.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"theirs": "llm", "mine": "ap')
    try:
        remember_profile("mine", "app")
        (aside,) = set_aside(path.parent, "active-profile.json")
        assert aside.read_text() == '{"theirs": "llm", "mine": "ap'
        assert json.loads(path.read_text()) == {"mine": "app"}
        assert one_line(said) == f"{path}:1:27: invalid JSON (Unterminated string): set aside as {aside.name}"
    finally:
        for p in path.parent.glob("active-profile.json*"):
            p.unlink()


# -- writes: atomic, nothing left behind --------------------------------------------------------------------


@pytest.mark.parametrize("fails", ["replace", "fsync", "write"])
def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path, said, monkeypatch, fails):
    path = tmp_path / "peaks.json"
    path.write_text(json.dumps(GOOD))
    store = PeakStore(path)
    store.observe("proj", "api", 100)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    if fails == "write":
        monkeypatch.setattr(os, "fdopen", lambda fd, *a, **k: _FailingFile(fd))
    else:
        monkeypatch.setattr(os, fails, broken)
    store.save()
    monkeypatch.undo()
    assert json.loads(path.read_text()) == GOOD
    assert names(tmp_path) == ["peaks.json"]
    assert one_line(said) == f"{path}: not saved (No space left on device)"
    store.save()  # the peak is still pending: the next save writes it
    assert json.loads(path.read_text())["proj"]["api"]["peak_mem_bytes"] == 100


class _FailingFile:
    """A file whose write fails as on a full disk; closing it closes the descriptor."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __enter__(self) -> _FailingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)

    def write(self, text: str) -> int:
        raise OSError(28, "No space left on device")


def test_a_directory_put_in_place_between_load_and_save_leaves_no_temp_file(tmp_path, said):
    path = tmp_path / "peaks.json"
    store = PeakStore(path)
    store.observe("proj", "api", 100)
    path.mkdir()
    for _ in range(3):
        store.save()
    assert names(tmp_path) == ["peaks.json"] and path.is_dir()
    assert one_line(said).startswith(f"{path}: not a regular file (a directory)")


def test_a_read_only_state_dir_is_a_warning_not_an_error(tmp_path, said):
    blocker = tmp_path / "state"
    blocker.write_text("a file where the directory goes")
    store = PeakStore(blocker / "skid-tui" / "peaks.json")
    store.observe("proj", "api", 100)
    store.save()
    assert blocker.read_text() == "a file where the directory goes"
    assert len(said) == 1 and "cannot read it (Not a directory)" in said[0]


# -- warnings reach the front end once ------------------------------------------------------------------


def test_warnings_wait_for_a_handler_and_are_said_once(tmp_path):
    statefile.set_warning_handler(None)
    fifo = tmp_path / "peaks.json"
    os.mkfifo(fifo)
    for _ in range(3):
        PeakStore(fifo)
    later: list[str] = []
    statefile.set_warning_handler(later.append)
    PeakStore(fifo)
    assert later == [f"{fifo}: not a regular file (a FIFO): ignored, and skid will not write over it"]
    assert statefile.take_warnings() == []


def test_a_failing_handler_does_not_break_loading(tmp_path):
    def gone(message: str) -> None:
        raise RuntimeError("App is not running")

    statefile.set_warning_handler(gone)
    fifo = tmp_path / "peaks.json"
    os.mkfifo(fifo)
    assert PeakStore(fifo).recorded("p", "s") is None
    statefile.set_warning_handler(None)
    assert statefile.take_warnings() == [
        f"{fifo}: not a regular file (a FIFO): ignored, and skid will not write over it"]


# -- fuzzed: whatever the file holds, no exception, only valid data, one-line warnings -----------------------

JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
CONTENT = st.one_of(
    st.binary(max_size=300),
    JSONISH.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.text(max_size=8), JSONISH, max_size=4).map(lambda v: json.dumps(v).encode()),
    st.text(alphabet='{}[]":,0123456789.eE-+ aNInfityltrusenl\\\x00\x1b', max_size=200).map(str.encode),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(content=CONTENT)
def test_fuzzed_state_files_never_raise_and_keep_only_valid_data(tmp_path_factory, content):
    directory = tmp_path_factory.mktemp("fuzz")
    lines: list[str] = []
    statefile.set_warning_handler(lines.append)
    for name, validate in (("peaks.json", valid_peaks), ("active-profile.json", valid_profiles)):
        path = directory / name
        path.write_bytes(content)
        loaded = statefile.load(path, validate, holds="projects")
        assert validate(loaded.data) == (loaded.data, [])
        assert loaded.writable
        if path.exists():  # what is on disk now is valid too
            assert validate(json.loads(path.read_bytes())) == (loaded.data, [])
        assert not [p for p in directory.iterdir() if p.name.startswith(".")]
    assert all("\n" not in line for line in lines)


# -- docker's own config, which skid reads (never sets aside: it is not skid's) ----------------------------


@pytest.mark.parametrize("make", [make_fifo, make_zero_link, make_directory])
def test_dockers_config_that_is_not_a_regular_file_is_passed_over_at_once(tmp_path, make):
    from skid_tui.engine.discovery import current_context

    make(tmp_path / "config.json")
    assert quickly(lambda: current_context({"DOCKER_CONFIG": str(tmp_path)}, tmp_path)) is None


@pytest.mark.parametrize("content", [b'{"a":' * 100_000, b'{"currentContext": ["x"]}', b"\xff", b"[1]"])
def test_dockers_config_with_bad_content_is_passed_over(tmp_path, content):
    from skid_tui.engine.discovery import current_context

    (tmp_path / "config.json").write_bytes(content)
    assert current_context({"DOCKER_CONFIG": str(tmp_path)}, tmp_path) is None
    assert (tmp_path / "config.json").read_bytes() == content
