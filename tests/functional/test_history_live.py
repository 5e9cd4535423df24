"""History on the real engine: the dashboard records a container of known shape (40 MiB held in /dev/shm,
a 32 MiB reservation and a 64 MiB limit), `h` shows it, `skid rightsize` suggests by the README's rule and its
override file loads in compose; metrics and the NDJSON monitor read the same numbers; a corrupt history
database is set aside and skid starts."""

from __future__ import annotations

import json
import math
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from skid_tui.engine.discovery import engine_candidates
from skid_tui.model.history import HistoryRecorder, HistoryStore
from skid_tui.stack import load_stack
from skid_tui.ui.app import SkidApp
from skid_tui.ui.screens.history import HistoryScreen
from tests.conftest import REPO, RESOURCES
from tests.functional.helpers import static_text, wait_until

pytestmark = pytest.mark.engine
MiB = 1024**2


def skid(state: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_STATE_HOME": str(state)}
    return subprocess.run([sys.executable, "-m", "skid_tui", *args], capture_output=True, text=True, cwd=REPO,
                          env=env, timeout=timeout, check=False)


def by_rule(p95: int, mx: int) -> tuple[int, int]:
    step = 16 * MiB
    std = math.ceil(p95 * 1.2 / step) * step
    return std, max(math.ceil(mx * 1.3 / step) * step, 2 * std)


async def test_h_shows_a_known_shape_and_rightsize_follows_the_rule(engine, resource_project, compose_bin, tmp_path):
    resource_project.up("hog")
    name = resource_project.name
    store = HistoryStore(tmp_path / "skid-tui" / "history.sqlite3")
    stack = load_stack([str(RESOURCES)], None, project_name=name)
    app = SkidApp(stack, stack.profiles["default"], engine_candidates, history=HistoryRecorder(store, flush_every=0.5))
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_until(pilot, lambda: app.first_paint_at is not None, 15, "a complete paint")
        await wait_until(pilot, lambda: store.summary(name, "hog", time.time() - 600).samples >= 8, 30,
                         "eight readings of hog in the history")
        app.query_one("#svc-hog").focus()
        await pilot.press("h")
        await wait_until(pilot, lambda: isinstance(app.screen, HistoryScreen), 5, "the history screen")
        screen = app.screen
        numbers = screen.query_one("#history-numbers")
        await wait_until(pilot, lambda: "p95" in static_text(numbers), 5, "the numbers of the last hour")
        line = static_text(numbers)
        # 40 MiB in /dev/shm and a little of the shell's: 40M or 41M as the panel rounds them.
        assert re.search(r"memory p50 4[01]M p95 4[01]M p99 4[01]M max 4[0-2]M", line), line
        memory = screen.query_one("#history-memory")

        def marked() -> bool:
            chart = static_text(memory, 100)
            # The marks, and 40 MiB of a 64 MiB scale drawn, not an empty chart.
            return "std 32M" in chart and "max 64M" in chart and "█" in chart

        try:
            await wait_until(pilot, marked, 5, "the memory chart with its marks")
        except AssertionError:
            raise AssertionError(f"{line}\n{static_text(memory, 100)}") from None
        await pilot.press("escape")

    override = tmp_path / "rightsized.yml"
    out = skid(tmp_path, "--compose", str(RESOURCES), "--project-name", name, "rightsize", "--since", "1h",
               "--enough", "5s", "--json", "--write", str(override))
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    hog = next(s for s in doc["services"] if s["service"] == "hog")
    assert hog["enough"] and hog["samples"] >= 8, hog
    assert 40 * MiB <= hog["p95"] <= 42 * MiB and 40 * MiB <= hog["max_used"] <= 44 * MiB, hog
    expected = by_rule(hog["p95"], hog["max_used"])
    assert (hog["suggested_standard"], hog["suggested_maximum"]) == expected == (64 * MiB, 128 * MiB)
    burner = next(s for s in doc["services"] if s["service"] == "burner")
    assert not burner["enough"] and burner["suggested_standard"] is None  # never ran: no suggestion

    # The override loads in compose with the suggested values, in the compose file's own spelling (mem_limit).
    config = subprocess.run([compose_bin, "-p", name, "-f", str(RESOURCES), "-f", str(override), "config",
                             "--format", "json"], capture_output=True, text=True, check=False, timeout=60)
    assert config.returncode == 0, config.stderr
    svc = json.loads(config.stdout)["services"]["hog"]
    assert int(svc["mem_limit"]) == 128 * MiB and int(svc["mem_reservation"]) == 64 * MiB, svc
    # And skid reads the new budgets from the two files.
    check = skid(tmp_path, "--compose", str(RESOURCES), "--compose", str(override), "--project-name", name,
                 "check", "--json")
    assert check.returncode == 0, check.stderr
    budget = json.loads(check.stdout)["services"]["hog"]
    assert (budget["mem_standard_bytes"], budget["mem_max_bytes"]) == (64 * MiB, 128 * MiB)

    # The same history, exported.
    export = skid(tmp_path, "--compose", str(RESOURCES), "--project-name", name, "export", "--since", "1h",
                  "--format", "json")
    assert export.returncode == 0, export.stderr
    rows = [r for r in json.loads(export.stdout) if r["service"] == "hog"]
    assert len(rows) >= 8 and all(40 * MiB <= r["mem_max"] <= 44 * MiB for r in rows), rows[:3]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_metrics_serve_the_live_numbers_as_prometheus_text(engine, resource_project, tmp_path):
    resource_project.up("hog")
    port = free_port()
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "skid_tui", "--compose", str(RESOURCES), "--project-name",
                             resource_project.name, "metrics", "--listen", f"127.0.0.1:{port}", "--interval", "1"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        families: dict = {}
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                    text = r.read().decode()
            except OSError:
                time.sleep(0.5)
                continue
            families = {f.name: f for f in text_string_to_metric_families(text)}
            memory = families.get("skid_service_memory_used_bytes")
            if memory and any(s.labels.get("service") == "hog" for s in memory.samples):
                break
            time.sleep(0.5)
        else:
            pytest.fail(f"no hog memory in the metrics within 30 s; have {sorted(families)}")
        [mem] = [s for s in families["skid_service_memory_used_bytes"].samples if s.labels["service"] == "hog"]
        assert 38 * MiB <= mem.value <= 44 * MiB and mem.labels["project"] == resource_project.name
        up = {s.labels["service"]: s.value for s in families["skid_service_up"].samples}
        assert up["hog"] == 1 and up["burner"] == 0
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_monitor_json_streams_one_object_per_interval(engine, resource_project, tmp_path):
    resource_project.up("hog")
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "skid_tui", "--compose", str(RESOURCES), "--project-name",
                             resource_project.name, "monitor", "--json", "--interval", "0.5"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = [proc.stdout.readline() for _ in range(3)]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    docs = [json.loads(line) for line in lines]
    once = skid(tmp_path, "--compose", str(RESOURCES), "--project-name", resource_project.name, "monitor", "--once",
                "--json")
    assert once.returncode == 0, once.stderr
    assert all(d.keys() == json.loads(once.stdout).keys() for d in docs)
    hog = [next(s for s in d["services"] if s["service"] == "hog") for d in docs]
    assert all(38 * MiB <= h["mem_bytes"] <= 44 * MiB for h in hog), hog
    # The watching monitor kept what it saw.
    assert (tmp_path / "skid-tui" / "history.sqlite3").exists()


async def test_a_corrupt_history_is_set_aside_and_skid_starts(engine, resource_project, tmp_path):
    db = tmp_path / "skid-tui" / "history.sqlite3"
    db.parent.mkdir(parents=True)
    db.write_bytes(b"this is not a database\n" * 100)
    out = skid(tmp_path, "--compose", str(RESOURCES), "--project-name", resource_project.name, "rightsize", "--json")
    assert out.returncode == 0, out.stderr
    [warning] = [line for line in out.stderr.splitlines() if "history" in line]
    assert "moved aside" in warning, out.stderr
    aside = [p for p in db.parent.iterdir() if p.name.startswith("history.sqlite3.bad-")]
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not a database")
    assert json.loads(out.stdout)["services"]  # a fresh, empty history: every service, none with enough data

    # The dashboard: the same, as a notification, and it runs on with a fresh history.
    db.write_bytes(b"\x00garbage" * 1000)
    stack = load_stack([str(RESOURCES)], None, project_name=resource_project.name)
    resource_project.up("hog")
    store = HistoryStore(db)
    app = SkidApp(stack, stack.profiles["default"], engine_candidates, history=HistoryRecorder(store, flush_every=0.5))
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_until(pilot, lambda: len(list(db.parent.glob("history.sqlite3.bad-*"))) == 2
                         and store.summary(resource_project.name, "hog", time.time() - 60).samples >= 2, 20,
                         "the history set aside and a fresh one written")
        notes = [n.message for n in app._notifications]
        assert any("moved aside" in n for n in notes), notes
