"""Broken legacy state files against the real command line and the real engine (issue 9, items 4 and 5,
and the history issue: peaks and the active profile moved into the history database).

`skid profiles` and `skid monitor --once` run as a user runs them, with XDG_STATE_HOME at a temp dir whose
peaks.json or active-profile.json is a FIFO, a symlink to /dev/zero, 100 MiB, truncated or wrongly typed:
the first command imports what is valid into the database, ends quickly and as usual, says one line about
it, and no other project's data is lost; the next command does not read the files again, and no command
writes them.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from skid_tui.model import LiveModel, PeakStore, statefile
from skid_tui.model.history import HistoryStore
from skid_tui.ui.app import SkidApp
from skid_tui.ui.widgets.activity_log import ActivityLog
from tests.conftest import DEMO, REPO, RESOURCES
from tests.factories import demo_stack

MiB = 1024**2
THEIRS = {"theirs": {"db": {"peak_mem_bytes": 300 * MiB, "at": 1700000000.0}},
          "also-theirs": {"cache": {"peak_mem_bytes": 20 * MiB, "at": 1700000001.0}}}
QUICK = 10.0  # seconds: a Python start, the stack, one engine round; a hang or a 100 MiB parse is far past it
LEFT_ALONE = "ignored and left as it is"


def skid(state: Path, compose: Path, project: str, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {**os.environ, "XDG_STATE_HOME": str(state)}
    cmd = [sys.executable, "-m", "skid_tui", "--compose", str(compose), "-p", project, *args]
    start = time.monotonic()
    # The timeout bounds the test: before the fix a FIFO hung these commands for good.
    result = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=60,
                            stdin=subprocess.DEVNULL, check=False)
    return result, time.monotonic() - start


def state_lines(result: subprocess.CompletedProcess[str], state: Path) -> list[str]:
    assert "Traceback" not in result.stderr, result.stderr
    return [line for line in result.stderr.splitlines() if str(state) in line]


def aside(directory: Path, name: str) -> Path:
    (found,) = [p for p in directory.iterdir() if p.name.startswith(f"{name}.bad-")]
    return found


def legacy_names(directory: Path) -> list[str]:
    """The state dir's files besides the history database and its companions."""
    return sorted(p.name for p in directory.iterdir() if not p.name.startswith("history.sqlite3"))


def database(directory: Path) -> HistoryStore:
    return HistoryStore(directory / "history.sqlite3")


@dataclass
class Case:
    name: str
    file: str  # which state file is broken
    make: Callable[[Path], None]  # puts the broken file in place
    says: str  # what the warning says after the file's path
    check: Callable[[Path, dict], None]  # no other project's data lost; gets what make recorded


def _fifo(d: Path) -> None:
    os.mkfifo(d / "peaks.json")


def _zero(d: Path) -> None:
    (d / "peaks.json").symlink_to("/dev/zero")
    (d / "active-profile.json").symlink_to("/dev/zero")


def _big(d: Path) -> None:
    # A real peaks file of 100 MiB: thousands of projects, every one of them someone's data.
    entry = json.dumps({f"s{i}": {"peak_mem_bytes": 123456789, "at": 1700000000.5} for i in range(50)})
    with (d / "peaks.json").open("w") as f:
        f.write("{" + json.dumps(THEIRS)[1:-1])
        n = 0
        while f.tell() < 100 * MiB:
            f.write(f', "project-{n}": {entry}')
            n += 1
        f.write("}")


def _truncated(d: Path) -> None:
    text = json.dumps(THEIRS, indent=1)
    (d / "peaks.json").write_text(text[: len(text) // 2])


def _bad_types(d: Path) -> None:
    (d / "peaks.json").write_text(json.dumps({**THEIRS, "broken": {"api": {"peak_mem_bytes": "lots"}}}))


def _active_bad_types(d: Path) -> None:
    (d / "active-profile.json").write_text(json.dumps({"theirs": "app", "broken": ["app"], "odd": None}))


def _unchanged_fifo(d: Path, before: dict) -> None:
    assert (d / "peaks.json").is_fifo() and legacy_names(d) == ["peaks.json"]


def _unchanged_links(d: Path, before: dict) -> None:
    assert os.readlink(d / "peaks.json") == "/dev/zero" and os.readlink(d / "active-profile.json") == "/dev/zero"
    assert legacy_names(d) == ["active-profile.json", "peaks.json"]


def _set_aside_whole(d: Path, before: dict) -> None:
    # Renamed, not read, copied or cut: the same inode and size under the new name; no new peaks.json.
    moved = aside(d, "peaks.json").stat()
    assert (moved.st_ino, moved.st_size) == before["peaks.json"]
    assert legacy_names(d) == [aside(d, "peaks.json").name]


def _kept_valid_peaks(d: Path, before: dict) -> None:
    # The valid entries imported; the file left as it was (nothing writes it any more).
    assert database(d).recorded_peaks("theirs") == {"db": 300 * MiB}
    assert database(d).recorded_peaks("also-theirs") == {"cache": 20 * MiB}
    assert database(d).recorded_peaks("broken") == {}
    st = (d / "peaks.json").stat()
    assert (st.st_ino, st.st_size) == before["peaks.json"] and legacy_names(d) == ["peaks.json"]


def _kept_valid_profiles(d: Path, before: dict) -> None:
    assert database(d).profile("theirs") == "app" and database(d).profile("broken") is None
    st = (d / "active-profile.json").stat()
    assert (st.st_ino, st.st_size) == before["active-profile.json"] and legacy_names(d) == ["active-profile.json"]


CASES = [
    Case("fifo", "peaks.json", _fifo, f": not a regular file (a FIFO): {LEFT_ALONE}", _unchanged_fifo),
    Case("dev-zero", "peaks.json", _zero, ": not a regular file (a character device, through a symlink to /dev/zero)",
         _unchanged_links),
    Case("100-mib", "peaks.json", _big, ": 100.0 MiB, more than the 1.0 MiB skid reads: set aside as peaks.json.bad-",
         _set_aside_whole),
    Case("truncated", "peaks.json", _truncated,
         ":8:2: invalid JSON (Unterminated string): set aside as peaks.json.bad-", _set_aside_whole),
    Case("bad-types", "peaks.json", _bad_types,
         ": project 'broken', service 'api': peak_mem_bytes is a string ('lots'), expected a whole number of bytes: "
         "dropped, the rest kept", _kept_valid_peaks),
    Case("active-bad-types", "active-profile.json", _active_bad_types,
         ": project 'broken': expected a profile name, found a list (and 1 more): dropped, the rest kept",
         _kept_valid_profiles),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_broken_state_file_costs_one_line_and_no_ones_data(engine, tmp_path, case):
    state = tmp_path / "state"
    directory = state / "skid-tui"
    directory.mkdir(parents=True)
    case.make(directory)
    before = {p.name: (p.stat().st_ino, p.stat().st_size) for p in directory.iterdir() if p.is_file()}
    project = f"skidstate-{uuid.uuid4().hex[:8]}"  # nothing of it runs: the commands only read the engine
    for i, command in enumerate((["profiles"], ["monitor", "--once"])):
        result, seconds = skid(state, DEMO, project, *command)
        assert result.returncode == 0, result.stderr
        assert seconds < QUICK, f"skid {' '.join(command)} took {seconds:.1f} s"
        lines = state_lines(result, state)
        if i == 0:
            # One line per broken file: the /dev/zero case breaks both, each said once.
            broken = 2 if case.name == "dev-zero" else 1
            assert len(lines) == broken, result.stderr
            assert any(line.startswith(f"{directory / case.file}{case.says}") for line in lines), lines
        else:
            assert lines == [], lines  # imported by the first command: the files are not read again
    case.check(directory, before)


def test_monitor_saves_a_new_peak_beside_a_truncated_file_it_set_aside(tmp_path, resource_project):
    resource_project.up("hog", wait=True)
    state = tmp_path / "state"
    directory = state / "skid-tui"
    directory.mkdir(parents=True)
    _truncated(directory)
    original = (directory / "peaks.json").read_bytes()
    result, _ = skid(state, RESOURCES, resource_project.name, "monitor", "--once")
    assert result.returncode == 0, result.stderr
    assert len(state_lines(result, state)) == 1
    assert aside(directory, "peaks.json").read_bytes() == original  # the other projects' peaks, as they were
    assert database(directory).recorded_peaks(resource_project.name)["hog"] > 30 * MiB  # the hog holds 40 MiB
    assert legacy_names(directory) == [aside(directory, "peaks.json").name]  # no new peaks.json
    assert not [p for p in directory.iterdir() if p.name.startswith(".")]


def test_monitor_imports_the_old_peaks_then_never_writes_the_file(tmp_path, resource_project):
    resource_project.up("hog", wait=True)
    state = tmp_path / "state"
    directory = state / "skid-tui"
    directory.mkdir(parents=True)
    old = {**THEIRS, resource_project.name: {"hog": {"peak_mem_bytes": 1 * MiB, "at": 1700000000.0}}}
    legacy = directory / "peaks.json"
    legacy.write_text(json.dumps(old))
    os.utime(legacy, ns=(1_000_000_000, 1_000_000_000))  # a write would move it, whatever the clock's grain
    before = legacy.read_bytes(), legacy.stat().st_mtime_ns, legacy.stat().st_ino
    for _ in range(2):
        result, _ = skid(state, RESOURCES, resource_project.name, "monitor", "--once")
        assert result.returncode == 0, result.stderr
        assert state_lines(result, state) == []
    db = database(directory)
    assert db.recorded_peaks("theirs") == {"db": 300 * MiB}  # imported
    assert db.recorded_peaks(resource_project.name)["hog"] > 30 * MiB  # measured: higher than the old 1 MiB
    assert (legacy.read_bytes(), legacy.stat().st_mtime_ns, legacy.stat().st_ino) == before
    assert legacy_names(directory) == ["peaks.json"]


def test_monitor_leaves_a_directory_in_the_place_alone(tmp_path, resource_project):
    resource_project.up("hog", wait=True)
    state = tmp_path / "state"
    directory = state / "skid-tui"
    (directory / "peaks.json").mkdir(parents=True)
    for i in range(2):
        result, _ = skid(state, RESOURCES, resource_project.name, "monitor", "--once")
        assert result.returncode == 0, result.stderr
        # Said by the import, the first time; the second command does not look again.
        assert state_lines(result, state) == ([
            f"{directory / 'peaks.json'}: not a regular file (a directory): {LEFT_ALONE}"] if i == 0 else [])
    assert legacy_names(directory) == ["peaks.json"] and (directory / "peaks.json").is_dir()
    assert list((directory / "peaks.json").iterdir()) == []
    assert database(directory).recorded_peaks(resource_project.name)["hog"] > 30 * MiB


async def test_the_dashboard_says_it_as_a_notification_and_in_the_activity_log(tmp_path):
    fifo = tmp_path / "peaks.json"
    os.mkfifo(fifo)
    statefile.set_warning_handler(None)  # as `skid` does before it starts the dashboard
    stack = demo_stack()
    profile = stack.profiles["minimal"]
    store = HistoryStore(tmp_path / "history.sqlite3")  # the FIFO beside it, where the import looks
    try:
        assert await asyncio.wait_for(asyncio.to_thread(store.open), 5)  # the import, as the first read does it
    except TimeoutError:
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # a writer come and gone: the blocked read ends
        pytest.fail("reading a FIFO as peaks.json blocked")
    model = LiveModel(stack, profile, peaks=PeakStore(store))
    app = SkidApp(stack, profile, lambda: [], watch=False, model=model)
    said = f"{fifo}: not a regular file (a FIFO): {LEFT_ALONE}"
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        assert [n.message for n in app._notifications if n.title == "state file"] == [said]
        assert any(line.endswith(said) for line in app.query_one(ActivityLog).lines)
        model.peaks.observe(stack.project, "redis", 100)
        app.save_peaks()  # a save every 30 s: to the database, and nothing said again
        await pilot.pause()
        assert len([n for n in app._notifications if n.title == "state file"]) == 1
    assert store.recorded_peaks(stack.project)["redis"] >= 100  # the exit's save too
    assert fifo.is_fifo() and legacy_names(tmp_path) == ["peaks.json"]
    statefile.take_warnings()
