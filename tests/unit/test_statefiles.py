"""State (issue 9, items 4 and 5, and the history issue): peaks and the active profile live in the history
database; the legacy peaks.json and active-profile.json are imported once, read bounded and validated, set
aside when broken, left alone when they are not regular files, and never written again."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import threading
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skid_tui.model import PeakStore, history, statefile
from skid_tui.model.active import remember_profile, remembered_profile, valid_profiles
from skid_tui.model.history import HistoryStore
from skid_tui.model.peaks import valid_peaks

MiB = 1024**2
GOOD = {"other": {"db": {"peak_mem_bytes": 300 * MiB, "at": 1700000000.0}}}
LEFT_ALONE = "ignored and left as it is"


# Every warning given while a test runs, as a front end would receive it (tests/unit/conftest.py).
pytestmark = pytest.mark.usefixtures("said")


@pytest.fixture
def legacy(tmp_path: Path) -> Path:
    """Where the old JSON files are; the database is kept apart, so listing this shows what skid did to them."""
    directory = tmp_path / "legacy"
    directory.mkdir()
    return directory


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A state dir of the test's own, as skid lays it out (the database beside the JSON files); the
    session-wide one may already have imported its files."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    directory = tmp_path / "xdg" / "skid-tui"
    directory.mkdir(parents=True)
    return directory


def store_for(legacy: Path) -> HistoryStore:
    return HistoryStore(legacy.parent / "db" / "history.sqlite3", legacy_dir=legacy)


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


def legacy_names(directory: Path) -> list[str]:
    """What is in a state dir besides the database and its companions."""
    return [n for n in names(directory) if not n.startswith("history.sqlite3")]


def set_aside(directory: Path, name: str = "peaks.json") -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.name.startswith(f"{name}.bad-"))


def one_line(said: list[str]) -> str:
    assert len(said) == 1, said
    assert "\n" not in said[0]
    return said[0]


def untouched(path: Path) -> tuple[int, int, int, bytes]:
    """What would change if anything wrote the file: its inode, size, mtime and bytes."""
    st_ = os.stat(path)
    return st_.st_ino, st_.st_size, st_.st_mtime_ns, path.read_bytes()


def save_a_peak(store: HistoryStore) -> PeakStore:
    """A new peak observed and saved: it reaches the database whatever the legacy files are."""
    peaks = PeakStore(store)
    peaks.observe("proj", "api", 100)
    quickly(peaks.save)
    assert store.recorded_peaks("proj") == {"api": 100}
    return peaks


# -- what is not a regular file: ignored at the import, left as it is --------------------------------------


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


@pytest.mark.parametrize("name", ["peaks.json", "active-profile.json"])
@pytest.mark.parametrize("make", [make_fifo, make_zero_link, make_directory, make_fifo_link])
def test_what_is_not_a_regular_file_is_ignored_at_once_and_left_as_it_is(legacy, said, make, name):
    path = legacy / name
    kind = make(path)
    before = names(legacy)
    mode = os.lstat(path).st_mode

    store = store_for(legacy)
    assert quickly(store.open) is True  # the import: never fatal
    assert PeakStore(store).recorded("other", "db") is None and store.profile("other") is None
    save_a_peak(store)
    store.set_profile("proj", "app")
    assert store.profile("proj") == "app"

    line = one_line(said)
    assert line.startswith(f"{path}: not a regular file ({kind}")
    assert line.endswith(LEFT_ALONE)
    assert names(legacy) == before  # no temp file left, nothing renamed
    assert os.lstat(path).st_mode == mode


def test_remember_profile_leaves_an_unreadable_file_alone(state, said):
    path = state / "active-profile.json"
    os.mkfifo(path)
    assert quickly(lambda: remembered_profile("proj")) is None
    quickly(lambda: remember_profile("proj", "app"))
    assert remembered_profile("proj") == "app"  # in the database
    assert stat.S_ISFIFO(os.lstat(path).st_mode)
    assert not [p for p in state.iterdir() if p.name.startswith(".")]
    assert one_line(said).startswith(f"{path}: not a regular file (a FIFO)")


def test_a_file_skid_may_not_read_is_left_as_it_is(legacy, said, monkeypatch):
    path = legacy / "peaks.json"
    path.write_text(json.dumps(GOOD))
    before = untouched(path)
    real_open = os.open

    def denied(p: Any, flags: int, *args: Any) -> int:
        if Path(p) == path:
            raise PermissionError(13, "Permission denied", str(p))
        return real_open(p, flags, *args)

    monkeypatch.setattr(os, "open", denied)  # as root, chmod 000 would not stop the read
    store = store_for(legacy)
    assert PeakStore(store).recorded("other", "db") is None
    save_a_peak(store)
    monkeypatch.undo()
    assert untouched(path) == before and names(legacy) == ["peaks.json"]
    assert one_line(said) == f"{path}: cannot read it (Permission denied): {LEFT_ALONE}"


# -- a symlink to a regular file is followed -------------------------------------------------------------


def test_a_symlink_to_a_regular_file_is_imported_and_never_written_through(state, said):
    real = state.parent / "dotfiles" / "peaks.json"
    real.parent.mkdir()
    real.write_text(json.dumps(GOOD))
    os.utime(real, ns=(1_000_000_000, 1_000_000_000))  # a write would move the mtime, whatever the clock's grain
    before = untouched(real)
    link = state / "peaks.json"
    link.symlink_to(real)
    peaks = PeakStore.default()
    assert peaks.recorded("other", "db") == 300 * MiB
    peaks.observe("other", "db", 400 * MiB)
    peaks.observe("proj", "api", 100)
    peaks.save()
    assert PeakStore.default().recorded("other", "db") == 400 * MiB
    assert link.is_symlink() and untouched(real) == before
    assert names(real.parent) == ["peaks.json"] and said == []


# -- too big: set aside without being read ----------------------------------------------------------------


def test_a_100_mib_file_is_set_aside_unread(legacy, said):
    path = legacy / "peaks.json"
    with path.open("wb") as f:
        f.truncate(100 * MiB)  # sparse: the size is what matters, skid must not read it
    inode = path.stat().st_ino
    store = store_for(legacy)
    tracemalloc.start()
    try:
        assert quickly(store.open, seconds=2) is True
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * MiB, f"{peak / MiB:.1f} MiB allocated"
    (aside,) = set_aside(legacy)
    assert aside.stat().st_ino == inode and aside.stat().st_size == 100 * MiB  # renamed, not copied or cut
    assert one_line(said) == f"{path}: 100.0 MiB, more than the 1.0 MiB skid reads: set aside as {aside.name}"
    save_a_peak(store)
    assert names(legacy) == [aside.name]  # the peak went to the database, no new peaks.json


def test_a_file_that_grows_past_the_bound_as_it_is_read_is_set_aside(legacy, said, monkeypatch):
    path = legacy / "peaks.json"
    path.write_bytes(b" " * (2 * MiB))
    real_stat = os.stat

    def small(p: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        st_ = real_stat(p, *args, **kwargs)
        if isinstance(p, Path) and p == path:  # it was small when skid looked
            values = list(st_)
            values[stat.ST_SIZE] = 10
            return os.stat_result(values)
        return st_

    monkeypatch.setattr(os, "stat", small)
    store = store_for(legacy)
    tracemalloc.start()
    try:
        assert store.open() is True
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    monkeypatch.undo()
    assert peak < 3 * MiB  # at most the bound + 1 bytes were read, and joined once
    (aside,) = set_aside(legacy)
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
def test_an_invalid_file_is_set_aside_as_it_was(legacy, said, content, said_after_path):
    path = legacy / "peaks.json"
    path.write_bytes(content)
    store = store_for(legacy)
    assert PeakStore(store).recorded("other", "db") is None
    (aside,) = set_aside(legacy)
    assert aside.read_bytes() == content  # whatever it held is still on disk, under the new name
    line = one_line(said)
    assert line.startswith(f"{path}{said_after_path}") and line.endswith(f": set aside as {aside.name}")
    # New peaks go to the database: no fresh peaks.json, the set-aside one as it was.
    save_a_peak(store)
    assert names(legacy) == [aside.name] and aside.read_bytes() == content


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
    # JSON can spell a lone surrogate; SQLite cannot store one (the import used to stop skid starting).
    ({"bad\ud800": {"s": {"peak_mem_bytes": 1}}}, "project 'bad\\ud800': not valid text (a lone surrogate escape)"),
    ({"bad": {"s\udc00": {"peak_mem_bytes": 1}}}, "service 's\\udc00': not valid text (a lone surrogate escape)"),
]


@pytest.mark.parametrize(("bad", "problem"), ENTRIES, ids=range(len(ENTRIES)))
def test_an_invalid_entry_is_dropped_and_every_other_project_imported(legacy, said, bad, problem):
    path = legacy / "peaks.json"
    path.write_text(json.dumps({**GOOD, **bad, "third": {"s": {"peak_mem_bytes": 5}}}))
    before = untouched(path)
    store = store_for(legacy)
    peaks = PeakStore(store)
    assert peaks.recorded("other", "db") == 300 * MiB and peaks.recorded("third", "s") == 5
    assert store.recorded_peaks("bad") == {}
    line = one_line(said)
    assert line.startswith(f"{path}: ") and problem in line and line.endswith(": dropped, the rest kept")
    # Nothing is written back any more: the file stays as it was, every entry of it on disk.
    save_a_peak(store)
    assert untouched(path) == before and names(legacy) == ["peaks.json"]


def test_several_bad_entries_are_one_line(legacy, said):
    (legacy / "peaks.json").write_text(json.dumps({**GOOD, "a": [], "b": "x", "c": {"s": {"peak_mem_bytes": "lots"}}}))
    assert PeakStore(store_for(legacy)).recorded("other", "db") == 300 * MiB
    assert "project 'a': expected an object of services, found a list (and 2 more): dropped" in one_line(said)


def test_an_invalid_file_that_cannot_be_set_aside_is_left_as_it_is(legacy, said, monkeypatch):
    path = legacy / "peaks.json"
    path.write_text('{"other": {"db": ')

    def refuse(*args: Any) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "rename", refuse)
    store = store_for(legacy)
    assert store.open() is True
    save_a_peak(store)
    monkeypatch.undo()
    assert path.read_text() == '{"other": {"db": ' and names(legacy) == ["peaks.json"]
    assert one_line(said).endswith(f": {LEFT_ALONE} (it could not be set aside: Permission denied)")


# -- the active profile ------------------------------------------------------------------------------------


def test_active_profile_imports_the_valid_projects_and_leaves_the_file(state, said):
    path = state / "active-profile.json"
    path.write_text(json.dumps({"mine": "app", "odd": 3, "worse": ["x"], "bad\ud800": "app", "fine": "x\udfff"}))
    before = untouched(path)
    assert remembered_profile("mine") == "app" and remembered_profile("odd") is None
    assert "project 'odd': expected a profile name, found 3 (and 3 more): dropped, the rest kept" in one_line(said)
    remember_profile("new", "llm")
    remember_profile("mine", "dev")
    assert (remembered_profile("new"), remembered_profile("mine")) == ("llm", "dev")
    assert untouched(path) == before and legacy_names(state) == ["active-profile.json"]


def test_skid_up_beside_a_truncated_active_profile_sets_it_aside_and_writes_no_json(state, said):
    path = state / "active-profile.json"
    path.write_text('{"theirs": "llm", "mine": "ap')
    remember_profile("mine", "app")
    (aside,) = set_aside(state, "active-profile.json")
    assert aside.read_text() == '{"theirs": "llm", "mine": "ap'
    assert remembered_profile("mine") == "app" and legacy_names(state) == [aside.name]
    assert one_line(said) == f"{path}:1:27: invalid JSON (Unterminated string): set aside as {aside.name}"


# -- the import: once, and the files never written after it --------------------------------------------------


def test_after_the_import_the_json_files_are_never_written(state, said):
    peaks_json, profile_json = state / "peaks.json", state / "active-profile.json"
    peaks_json.write_text(json.dumps(GOOD))
    profile_json.write_text(json.dumps({"other": "app"}))
    for path in (peaks_json, profile_json):
        os.utime(path, ns=(1_000_000_000, 1_000_000_000))  # a write would move the mtime, whatever the clock's grain
    before = {path: untouched(path) for path in (peaks_json, profile_json)}

    peaks = PeakStore.default()
    assert peaks.recorded("other", "db") == 300 * MiB and remembered_profile("other") == "app"
    peaks.observe("other", "db", 500 * MiB)  # higher than the file's
    peaks.observe("proj", "api", 100)
    peaks.save()
    remember_profile("other", "llm")
    remember_profile("proj", "dev")
    PeakStore.default().save()

    assert {path: untouched(path) for path in before} == before
    assert legacy_names(state) == ["active-profile.json", "peaks.json"]  # no temp or set-aside file either
    fresh = PeakStore.default()
    assert (fresh.recorded("other", "db"), fresh.recorded("proj", "api")) == (500 * MiB, 100)
    assert (remembered_profile("other"), remembered_profile("proj")) == ("llm", "dev")
    assert said == []


def test_the_import_happens_once_and_never_over_newer_values(state, said):
    peaks_json, profile_json = state / "peaks.json", state / "active-profile.json"
    peaks_json.write_text(json.dumps(GOOD))
    profile_json.write_text(json.dumps({"other": "app"}))
    peaks = PeakStore.default()
    assert peaks.recorded("other", "db") == 300 * MiB
    peaks.observe("other", "db", 400 * MiB)
    peaks.save()
    remember_profile("other", "llm")
    # An older skid run since wrote the files again, higher and different: the database does not take them.
    peaks_json.write_text(json.dumps({"other": {"db": {"peak_mem_bytes": 900 * MiB, "at": 1.0}}, "new": {}}))
    profile_json.write_text(json.dumps({"other": "full", "new": "app"}))
    assert PeakStore.default().recorded("other", "db") == 400 * MiB
    assert (remembered_profile("other"), remembered_profile("new")) == ("llm", None)
    # Not even read: a FIFO in its place now says nothing.
    peaks_json.unlink()
    os.mkfifo(peaks_json)
    assert quickly(lambda: PeakStore.default().recorded("other", "db")) == 400 * MiB
    assert said == []


# -- PeakStore: cheap observe, one read per project, a save that fails keeps its peaks ---------------------


class Spy:
    """Counts the database calls a PeakStore makes."""

    def __init__(self, store: HistoryStore, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[str] = []
        for name in ("recorded_peaks", "observe_peaks"):
            real = getattr(store, name)
            monkeypatch.setattr(store, name, self._counted(name, real))

    def _counted(self, name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return real(*args, **kwargs)
        return call


def test_observe_never_touches_the_database_and_recorded_reads_each_project_once(legacy, monkeypatch):
    (legacy / "peaks.json").write_text(json.dumps(GOOD))
    store = store_for(legacy)
    spy = Spy(store, monkeypatch)
    peaks = PeakStore(store)
    for i in range(10_000):  # a sample a second per service, for hours
        peaks.observe("other", "db", i)
        peaks.observe("proj", "api", i)
    assert spy.calls == []
    assert peaks.recorded("other", "db") == 300 * MiB  # what the database holds beats what was seen
    assert peaks.recorded("proj", "api") == 9_999  # nothing recorded: what was seen since
    assert peaks.recorded("other", "web") is None and peaks.recorded("proj", "db") is None
    assert spy.calls == ["recorded_peaks", "recorded_peaks"]  # once per project
    peaks.observe("other", "db", 200 * MiB)  # below the recorded peak: nothing to save
    peaks.observe("proj", "api", 50 * MiB)
    assert peaks.recorded("proj", "api") == 50 * MiB
    spy.calls.clear()
    peaks.save()
    assert spy.calls == ["observe_peaks", "recorded_peaks"]  # written, then read back to know it is kept
    assert store.recorded_peaks("proj") == {"api": 50 * MiB}
    assert store.recorded_peaks("other") == {"db": 300 * MiB}
    spy.calls.clear()
    peaks.save()  # nothing new: no database call
    peaks.observe("proj", "api", 10)
    peaks.save()
    assert spy.calls == []


def test_a_save_the_database_refuses_keeps_its_peaks_for_the_next(legacy, said, monkeypatch):
    monkeypatch.setattr(history, "BUSY_TIMEOUT_MS", 20)
    store = store_for(legacy)
    assert store.open()
    blocker = sqlite3.connect(store.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another skid in a long write
    peaks = PeakStore(store)
    peaks.observe("proj", "api", 100)
    peaks.save()
    assert store.recorded_peaks("proj") == {}
    assert one_line(said) == f"{store.path}: history not saved (database is locked)"
    blocker.execute("ROLLBACK")
    blocker.close()
    peaks.save()  # the peak was still pending: this save writes it
    assert store.recorded_peaks("proj") == {"api": 100}
    assert len(said) == 1


def test_a_database_skid_cannot_use_is_a_warning_and_the_peaks_stay_in_memory(tmp_path, said):
    path = tmp_path / "history.sqlite3"
    path.mkdir()  # something else holds the place
    peaks = PeakStore(HistoryStore(path))
    peaks.observe("proj", "api", 100)
    for _ in range(3):
        peaks.save()
    assert peaks.recorded("proj", "api") == 100
    assert names(tmp_path) == ["history.sqlite3"] and names(path) == []
    assert one_line(said).startswith(f"{path}: a directory where skid keeps its history")


def test_a_read_only_state_dir_is_a_warning_not_an_error(tmp_path, said, monkeypatch):
    blocker = tmp_path / "state"
    blocker.write_text("a file where the directory goes")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocker))
    peaks = PeakStore.default()
    peaks.observe("proj", "api", 100)
    peaks.save()
    assert peaks.recorded("proj", "api") == 100
    remember_profile("proj", "app")  # best effort: no error
    assert remembered_profile("proj") is None
    assert blocker.read_text() == "a file where the directory goes"
    assert "(Not a directory)" in one_line(said)


# -- warnings reach the front end once ------------------------------------------------------------------


def test_warnings_wait_for_a_handler_and_are_said_once(tmp_path):
    statefile.set_warning_handler(None)
    fifo = tmp_path / "peaks.json"
    os.mkfifo(fifo)
    for n in range(3):  # three databases, each importing the same FIFO
        HistoryStore(tmp_path / f"db{n}" / "history.sqlite3", legacy_dir=tmp_path).open()
    later: list[str] = []
    statefile.set_warning_handler(later.append)
    HistoryStore(tmp_path / "db3" / "history.sqlite3", legacy_dir=tmp_path).open()
    assert later == [f"{fifo}: not a regular file (a FIFO): {LEFT_ALONE}"]
    assert statefile.take_warnings() == []


def test_a_failing_handler_does_not_break_the_import(tmp_path):
    def gone(message: str) -> None:
        raise RuntimeError("App is not running")

    statefile.set_warning_handler(gone)
    fifo = tmp_path / "peaks.json"
    os.mkfifo(fifo)
    assert PeakStore(HistoryStore(tmp_path / "history.sqlite3")).recorded("p", "s") is None
    statefile.set_warning_handler(None)
    assert statefile.take_warnings() == [f"{fifo}: not a regular file (a FIFO): {LEFT_ALONE}"]


# -- fuzzed: whatever the files hold, no exception, only valid data, the files never rewritten ---------------

JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
CONTENT = st.one_of(
    st.binary(max_size=300),
    JSONISH.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.text(max_size=8), JSONISH, max_size=4).map(lambda v: json.dumps(v).encode()),
    st.text(alphabet='{}[]":,0123456789.eE-+ aNInfityltrusenl\\\x00\x1bud8', max_size=200).map(str.encode),
)
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _on_disk_as_it_was(path: Path, content: bytes) -> None:
    """Left in place, or set aside whole; never rewritten, nothing left behind."""
    if path.exists():
        assert path.read_bytes() == content
        assert not set_aside(path.parent, path.name)
    else:
        (aside,) = set_aside(path.parent, path.name)
        assert aside.read_bytes() == content
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]


@settings(FUZZ, max_examples=300)
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
        _on_disk_as_it_was(path, content)
    assert all("\n" not in line for line in lines)


@settings(FUZZ, max_examples=60)
@given(content=CONTENT)
def test_fuzzed_legacy_files_never_stop_the_import(tmp_path_factory, content):
    legacy = tmp_path_factory.mktemp("fuzz-import")
    for name in ("peaks.json", "active-profile.json"):
        (legacy / name).write_bytes(content)
    copy = tmp_path_factory.mktemp("fuzz-expected") / "peaks.json"
    copy.write_bytes(content)
    expected = statefile.load(copy, valid_peaks, holds="projects").data
    store = store_for(legacy)
    assert store.open() is True
    for project, services in expected.items():
        assert store.recorded_peaks(project) == {s: e["peak_mem_bytes"] for s, e in services.items()}
    for name in ("peaks.json", "active-profile.json"):
        _on_disk_as_it_was(legacy / name, content)
    store.close()


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
