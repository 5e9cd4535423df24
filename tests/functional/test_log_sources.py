"""Both ways a pane reads a service's logs give the same lines: the json-file log on disk and the Engine API."""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

from skid_tui.engine.client import Engine
from skid_tui.engine.discovery import engine_candidates
from skid_tui.engine.logs import LineBatch, LogFollower, LogLine, service_container
from tests.conftest import DemoProject

# $$ is compose's escape for a shell's $.
MIXED = r"""
services:
  mixed:
    image: skid-demo/base:latest
    init: true
    command:
      - sh
      - -c
      - |
        sleep 2
        echo 'a<b>&c "q" \ tab	here'
        echo 'é ü ✓'
        echo err >&2
        head -c 40000 /dev/zero | tr '\0' x; echo
        i=0; while [ $$i -lt 500 ]; do echo "line $$i"; i=$$((i+1)); done
        printf 'no newline at the end'
        sleep 1
  counter:
    image: skid-demo/base:latest
    init: true
    # Numbered lines, 50 a second, and a run number kept in the container's own /tmp across restarts.
    command:
      - sh
      - -c
      - |
        r=$$(cat /tmp/run 2>/dev/null || echo 0); r=$$((r+1)); echo $$r > /tmp/run
        i=0; while :; do i=$$((i+1)); echo "run $$r line $$i"; sleep 0.02; done
  rotating:
    image: skid-demo/base:latest
    init: true
    logging:
      driver: json-file
      options: {max-size: "20k", max-file: "4"}
    # 100 lines (under half a 20k file) every 0.1 s, 12 rotations in all: the engine keeps 4 files, so the
    # reader may pause a second on a busy machine and still find every line (faster, a pause loses a file).
    command:
      - sh
      - -c
      - |
        sleep 2
        i=0; while [ $$i -lt 3000 ]; do i=$$((i+1)); echo "rotating line $$i"; [ $$((i % 100)) = 0 ] && sleep 0.1; done
        sleep 1
"""


class Collected:
    """A follower of one service, through the given source, in a thread, until its container stops."""

    def __init__(self, project: str, service: str, source: str) -> None:
        self.lines: list[LogLine] = []
        self.stopped = threading.Event()
        self.follower = LogFollower(lambda: Engine.first_answering(engine_candidates()),
                                    service_container(project, service), self.arrived, tail=100_000, poll=0.1)
        self.follower.source = source
        self.thread = threading.Thread(target=self.follower.run, daemon=True)
        self.thread.start()

    def arrived(self, lines: LineBatch) -> None:
        for line in lines:
            if line.stream == 0:
                if "stopped" in line.text:
                    self.stopped.set()
            else:
                self.lines.append(line)

    def wait(self, timeout: float) -> list[LogLine]:
        assert self.stopped.wait(timeout), f"the {self.follower.via} follower never saw the container stop"
        self.follower.stop()
        self.thread.join(5)
        return self.lines


def project(tmp_path: Path, compose_bin: str) -> DemoProject:
    path = tmp_path / "sources.yml"
    path.write_text(MIXED)
    return DemoProject(compose_bin, f"skidsrc-{uuid.uuid4().hex[:8]}", path)


def test_the_file_and_the_api_give_the_same_lines(engine, compose_bin, tmp_path, podman):
    demo = project(tmp_path, compose_bin)
    try:
        demo.up("mixed")
        from_file = Collected(demo.name, "mixed", "file")
        from_api = Collected(demo.name, "mixed", "api")
        file_lines, api_lines = from_file.wait(30), from_api.wait(30)
        doc = engine.inspect(engine.project_containers(demo.name)[0])
        # Podman's file is in its own k8s-file format (under a json-file name): the API reads it.
        assert from_file.follower.via == ("file" if os.access(doc["LogPath"], os.R_OK) and not podman else "api")
        assert from_api.follower.via == "api"
        # stdout and stderr have a copier each in the engine: their lines interleave as they will.
        texts = [line.text for line in file_lines if line.stream == 1]
        assert [line.text for line in file_lines if line.stream == 2] == ["err"]
        assert texts[:3] == ['a<b>&c "q" \\ tab\there', "é ü ✓", "x" * 40_000]  # the engine cut it in three
        assert texts[3:] == [*(f"line {i}" for i in range(500)), "no newline at the end"]
        # Docker stamps nanoseconds, Podman's API whole seconds.
        assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{9})?Z", line.ts) for line in file_lines)
        # The engine's follow stream may end before its copier writes a last line that has no newline; the file
        # is read once the engine says the container stopped, so it has that line for sure.
        assert api_lines in (file_lines, file_lines[:-1])
    finally:
        demo.down()


def test_a_rotating_log_is_followed_without_a_line_lost_or_repeated(engine, compose_bin, tmp_path, podman):
    # Only the file: the engine's own follow stream (Docker 20.10) repeats and drops lines when the file
    # rotates under it (measured with curl alone: 3,632 lines for these 3,000, 225 of them missing).
    demo = project(tmp_path, compose_bin)
    try:
        from_file = Collected(demo.name, "rotating", "file")  # open before the container exists: every line
        time.sleep(0.5)
        demo.up("rotating")
        lines = from_file.wait(60)
        doc = engine.inspect(engine.project_containers(demo.name)[0])
        if podman:
            # Its k8s-file is read through the API; at max-size conmon truncates the file, keeping no rotated
            # ones, so a follower loses what was cut before it read it (as `podman logs -f` does): nothing
            # repeated or out of order, though, and the last line is there.
            assert from_file.follower.via == "api"
            numbers = [int(line.text.rsplit(" ", 1)[1]) for line in lines]
            assert numbers == sorted(set(numbers)) and numbers[-1] == 3000, numbers
        elif os.access(doc["LogPath"], os.R_OK):
            assert from_file.follower.via == "file"
            assert [line.text for line in lines] == [f"rotating line {i}" for i in range(1, 3001)]
            assert os.path.exists(doc["LogPath"] + ".1")  # it did rotate, several times over
        else:
            assert from_file.follower.via == "api"
    finally:
        demo.down()


def test_a_restarting_container_s_pane_has_every_line_once(engine, compose_bin, tmp_path):
    """Restarts within the second the last line was stamped (Podman stamps whole seconds): the follower
    reopens the stream where it was and must neither drop the new run's first lines nor repeat old ones."""
    demo = project(tmp_path, compose_bin)
    notes: list[str] = []
    lines: list[str] = []

    def arrived(batch: LineBatch) -> None:
        for line in batch:
            (notes if line.stream == 0 else lines).append(line.text)

    try:
        demo.up("counter")
        follower = LogFollower(lambda: Engine.first_answering(engine_candidates()),
                               service_container(demo.name, "counter"), arrived, tail="all", poll=0.1)
        follower.source = "api"
        thread = threading.Thread(target=follower.run, daemon=True)
        thread.start()

        def wait_for(what: str, check) -> None:
            deadline = time.monotonic() + 30
            while not check():
                assert time.monotonic() < deadline, f"no {what}: {notes} {lines[-3:]}"
                time.sleep(0.05)

        for run in range(1, 4):
            wait_for(f"run {run}'s lines", lambda run=run: sum(t.startswith(f"run {run} ") for t in lines) >= 40)
            demo.compose("restart", "-t", "0", "counter")
            wait_for(f"the restart after run {run}", lambda run=run: sum("running again" in n for n in notes) >= run)
        wait_for("run 4's lines", lambda: sum(t.startswith("run 4 ") for t in lines) >= 40)
        demo.stop("counter")
        wait_for("the stop", lambda: notes[-1:] and "stopped" in notes[-1] and
                 sum("running again" in n for n in notes) >= 3)
        follower.stop()
        thread.join(5)
        [cid] = engine.project_containers(demo.name)
        everything = engine.api.logs(cid, stdout=True, stderr=True).decode().splitlines()
        # Every line the engine has, none twice. (In its order but at a restart: there Podman's old stream
        # may hand over a new run's second line before the reopened one brings its first.)
        twice = [line for line, n in Counter(lines).items() if n > 1]
        missing = sorted(set(everything) - set(lines))
        assert Counter(lines) == Counter(everything), (len(lines), len(everything), twice, missing, notes)
        for run in range(1, 5):  # and each run's numbers are whole: 1, 2, 3...
            numbers = [int(t.rsplit(" ", 1)[1]) for t in lines if t.startswith(f"run {run} ")]
            assert sorted(numbers) == list(range(1, len(numbers) + 1)), (run, numbers)
    finally:
        demo.down()
