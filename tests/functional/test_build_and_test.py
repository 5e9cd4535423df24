"""Builds and test suites against the real private engine (never skipped).

Builds use a copy of tests/functional/buildctx (plus a large file its .dockerignore keeps out) through a
throwaway compose file whose images are tagged `skidtest-build/<random>`; every image a test tags is
removed afterwards. Suites are the demo stack's (compose/demo.yml `x-skid-tests`) under a throwaway
`skidbt-` project name; their containers remove themselves, and the tests check that they did.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator

import docker.errors
import pytest
from rich.console import Console

from skid_tui.cli.buildtest import cmd_build, cmd_test
from skid_tui.engine.builds import BuildEvent, build_service
from skid_tui.engine.client import ONEOFF_LABEL, PROJECT_LABEL, Engine
from skid_tui.engine.testrun import NOTE, TEST_LABEL, parse_memory_limit, run_suite
from skid_tui.ops.config import Options
from skid_tui.stack import Stack, load_stack
from skid_tui.stack.model import Location, TestSuite
from tests.conftest import DEMO, REPO

MiB = 1024**2


def build(engine: Engine, stack: Stack, service: str, cancel: threading.Event | None = None):
    events: list[BuildEvent] = []
    result = build_service(engine, stack, service, events.append, cancel or threading.Event())
    return result, events


def find_in_image(engine: Engine, tag: str) -> list[str]:
    """The files under /opt/skidtest in an image, listed by a suite run from it."""
    lines: list[str] = []
    suite = TestSuite(name="list-image", location=Location("test"), command=("find", "/opt/skidtest"), image=tag)
    stack = load_stack([DEMO], project_name=f"skidbt-{uuid.uuid4().hex[:8]}", environ={})
    result = run_suite(engine, stack, suite, parse_memory_limit("low"), lines.extend, threading.Event())
    assert result.passed, lines
    return [line for line in lines if not line.startswith(NOTE)]


def test_a_build_streams_its_steps_tags_the_image_and_a_second_build_hits_the_cache(engine, build_project):
    stack, tag = build_project.stack, build_project.tags["app"]
    result, events = build(engine, stack, "app")
    assert result.ok, result.error
    steps = [e for e in events if e.kind == "step"]
    assert [e.step for e in steps] == [1, 2, 3, 4, 5]
    assert {e.steps for e in steps} == {5} and result.steps == 5
    assert steps[0].text == "FROM skid-demo/base:latest"
    assert steps[3].text == "COPY . /opt/skidtest/"
    # the per-run RUN_ID makes every step from the first RUN on new, whatever earlier runs left
    assert not [e for e in events if e.kind == "cache" and e.step >= 3]
    assert any(e.kind == "output" and e.text.startswith("context checked:") for e in events)
    sending = events[0].text
    assert sending.startswith("Sending build context:") and "excluded by .dockerignore" in sending
    image = engine.api.inspect_image(tag)
    assert result.tag == tag and result.image_id == image["Id"]
    assert result.size_bytes == image["Size"] > 0
    assert tag in {t.removeprefix("docker.io/") for t in image["RepoTags"]}  # Podman names it docker.io/...

    # .dockerignore kept the 32 MiB file and local-only/ out, but for the file it re-includes
    files = find_in_image(engine, tag)
    assert "/opt/skidtest/hello.txt" in files
    assert "/opt/skidtest/local-only/keep.txt" in files
    assert "/opt/skidtest/bloat.bin" not in files
    assert "/opt/skidtest/local-only/secret.txt" not in files
    assert "/opt/skidtest/Dockerfile" in files and "/opt/skidtest/.dockerignore" in files

    again, events = build(engine, stack, "app")
    assert again.ok and again.image_id == result.image_id
    assert again.cache_hits == 4 == again.steps - 1  # every step but FROM
    assert [e.step for e in events if e.kind == "cache"] == [2, 3, 4, 5]
    assert again.seconds < result.seconds + 5


def test_a_failing_build_names_its_step_and_the_cli_exits_non_zero(engine, build_project):
    stack = build_project.stack
    # two builds at once, as the dashboard runs them: each gets its own stream and result
    both: dict[str, tuple] = {}
    threads = [threading.Thread(target=lambda s=s: both.__setitem__(s, build(engine, stack, s)))
               for s in ("app", "broken")]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert both["app"][0].ok and not both["broken"][0].ok
    assert {e.steps for e in both["app"][1] if e.kind == "step"} == {5}
    assert {e.steps for e in both["broken"][1] if e.kind == "step"} == {3}
    result, events = both["broken"]
    assert not result.ok and not result.cancelled
    assert result.failing_step == 'RUN echo "about to fail on purpose" >&2 && exit 3'
    assert (result.failing_step_number, result.steps) == (2, 3)
    # Docker: "The command ... returned a non-zero code: 3"; Podman: "... while running runtime: exit status 3"
    assert re.search(r"(returned a non-zero code|exit status):? 3$", result.error), result.error
    assert events[-1].kind == "error" and events[-1].step == 2
    assert any("about to fail on purpose" in e.text for e in events if e.kind == "output")
    with pytest.raises(docker.errors.ImageNotFound):
        engine.api.inspect_image(build_project.tags["broken"])

    buffer = io.StringIO()
    code = cmd_build(stack, Options(), ["app", "broken"], Console(file=buffer, width=200, highlight=False))
    text = buffer.getvalue()
    assert code == 1, text
    assert "Step 2/5: ARG RUN_ID=unset" in text
    assert re.search(r"^✓ app built in \d+\.\d s: skidtest-build/\S+-app:latest, [\d.]+ MiB", text, re.M), text
    assert "Step 2/3: RUN echo" in text
    assert re.search(r"^✗ broken failed at step 2/3 \(RUN echo \"about to fail on purpose\" >&2 && exit 3\) "
                     r"after \d+\.\d s: .*(returned a non-zero code|exit status):? 3$", text, re.M), text
    assert text.rstrip().endswith("1 of 2 built; failed: broken")


def test_a_cancelled_build_stops_at_once_and_leaves_no_build_container(engine, build_project, podman):
    cancel = threading.Event()
    running: list[str] = []

    def on_event(event: BuildEvent) -> None:
        if event.text.startswith(" ---> Running in "):
            running.append(event.text.split()[-1])
        if event.text == "slow step started":
            cancel.set()

    started = time.monotonic()
    result = build_service(engine, build_project.stack, "slow", on_event, cancel)
    assert result.cancelled and not result.ok and result.error == "cancelled"
    assert time.monotonic() - started < 15  # the step sleeps 60 s
    if podman:
        # Podman's build runs in buildah's own containers, which its Docker API neither names nor stops: the
        # running step goes on to its end, then the build stops (README: Podman's limits).
        assert not running
        return
    assert running
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            engine.api.inspect_container(running[-1])
        except docker.errors.NotFound:
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"the build's container {running[-1]} is still there")


# --- test suites ------------------------------------------------------------------------------------


@pytest.fixture
def demo_stack(engine: Engine) -> Iterator[Stack]:
    stack = load_stack([DEMO], project_name=f"skidbt-{uuid.uuid4().hex[:8]}", environ={})
    yield stack
    left = engine.api.containers(all=True, filters={"label": [f"{PROJECT_LABEL}={stack.project}"]})
    for c in left:
        engine.api.remove_container(c["Id"], force=True)
    assert not left, f"test containers were left behind: {[c['Names'] for c in left]}"


def test_a_passing_suite_runs_in_a_limited_one_off_container_on_the_stack_network(engine, demo_stack):
    network = engine.api.create_network(f"{demo_stack.project}_default")["Id"]
    seen: dict = {}
    lines: list[str] = []

    def on_lines(batch: list[str]) -> None:
        lines.extend(batch)
        if not seen and any(not line.startswith(NOTE) for line in batch):  # it runs: look at it
            (found,) = engine.api.containers(filters={"label": [f"{TEST_LABEL}=unit-pass"],
                                                      "name": [f"{demo_stack.project}-test-"]})
            seen.update(engine.api.inspect_container(found["Id"]))

    try:
        result = run_suite(engine, demo_stack, demo_stack.suites["unit-pass"], parse_memory_limit("low"), on_lines,
                           threading.Event())
    finally:
        engine.api.remove_network(network)
    assert result.passed and result.exit_code == 0 and not result.oom_killed, lines
    assert result.mem_limit == 512 * MiB
    assert "5 passed" in lines and "test_budgets_sum ... ok" in lines
    host = seen["HostConfig"]
    assert host["Memory"] == 512 * MiB
    assert host["MemorySwap"] == 512 * MiB  # no swap beyond the limit
    labels = seen["Config"]["Labels"]
    assert labels[PROJECT_LABEL] == demo_stack.project
    assert labels[ONEOFF_LABEL] == "True"
    assert labels[TEST_LABEL] == "unit-pass"
    assert re.fullmatch(rf"/{demo_stack.project}-test-unit-pass-[0-9a-f]{{6}}", seen["Name"])
    assert list(seen["NetworkSettings"]["Networks"]) == [f"{demo_stack.project}_default"]
    assert seen["Config"]["WorkingDir"] == "/tmp"
    assert "SUITE=unit-pass" in seen["Config"]["Env"]
    assert 0 < result.peak_mem < 64 * MiB
    assert result.peak_source.startswith(("cgroup", "stats API"))
    with pytest.raises(docker.errors.NotFound):
        engine.api.inspect_container(seen["Id"])  # removed after the run


def test_memory_hog_is_oom_killed_under_low_and_passes_under_high(engine, demo_stack):
    hog = demo_stack.suites["memory-hog"]
    low = run_suite(engine, demo_stack, hog, parse_memory_limit("low"), lambda _: None, threading.Event())
    assert low.oom_killed and not low.passed and low.outcome == "oom"
    assert low.exit_code == 137
    assert low.peak_mem is not None and low.peak_mem > 400 * MiB
    high = run_suite(engine, demo_stack, hog, parse_memory_limit("high"), lambda _: None, threading.Event())
    assert high.passed and not high.oom_killed, high
    assert high.mem_limit == 2048 * MiB
    assert high.peak_mem is not None and 700 * MiB <= high.peak_mem < high.mem_limit


def test_skid_test_reports_pass_fail_and_oom_and_exits_non_zero(engine, demo_stack):
    buffer = io.StringIO()
    out = Console(file=buffer, width=200, highlight=False)
    code = cmd_test(demo_stack, Options(), [], "low", out)
    text = buffer.getvalue()
    assert code == 1, text
    assert "▶ unit-pass: five quick checks that all pass (about 1 s)" in text
    assert "test_llm_fits ... FAILED" in text
    assert re.search(r"^✓ unit-pass passed in \d+\.\d s, peak [\d.]+ MiB of 512 MiB$", text, re.M), text
    assert re.search(r"^✗ unit-fail failed \(exit 1\) in \d+\.\d s$", text, re.M), text
    assert re.search(r"^✗ memory-hog OOM-killed at its 512 MiB limit after \d+\.\d s \(peak \d+ MiB\)$", text, re.M)
    assert text.rstrip().endswith("3 suites: 1 passed, 1 failed, 1 OOM-killed")
    assert "network " in text and "does not exist" in text  # no stack network: said, then the default bridge

    buffer = io.StringIO()
    assert cmd_test(demo_stack, Options(), ["unit-pass"], "768m", Console(file=buffer, width=200)) == 0
    assert "peak" in buffer.getvalue() and "of 768 MiB" in buffer.getvalue()


def test_a_cancelled_suite_is_killed_and_removed(engine, demo_stack):
    cancel = threading.Event()
    suite = TestSuite(name="sleeper", location=Location("test"), image="skid-demo/base:latest",
                      command=("sh", "-c", "echo started; sleep 60"))

    def on_lines(batch: list[str]) -> None:
        if "started" in batch:
            cancel.set()

    started = time.monotonic()
    result = run_suite(engine, demo_stack, suite, parse_memory_limit("low"), on_lines, cancel)
    assert result.cancelled and not result.passed and result.outcome == "cancelled"
    assert time.monotonic() - started < 15


def skid(*args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "skid_tui", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=120, check=False)


def test_the_command_line_exit_status_says_whether_every_suite_and_build_succeeded(engine, demo_stack, build_project):
    project = ["--compose", str(DEMO), "--project-name", demo_stack.project]
    ok = skid("test", "unit-pass", "--memory-limit", "low", *project)
    assert ok.returncode == 0, ok.stderr
    assert "5 passed" in ok.stdout and "✓ unit-pass passed" in ok.stdout and "of 512 MiB" in ok.stdout
    failed = skid("test", "unit-pass", "unit-fail", *project)
    assert failed.returncode == 1
    assert "of 1.00 GiB" in failed.stdout  # medium, the default
    assert failed.stdout.rstrip().endswith("2 suites: 1 passed, 1 failed")
    bad = skid("test", "--memory-limit", "lots", *project)
    assert bad.returncode == 2 and not bad.stdout
    assert bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr, bad.stderr
    unknown = skid("test", "nope", *project)
    assert unknown.returncode == 2 and "unknown test suite 'nope'" in unknown.stderr

    compose_file = str(build_project.stack.compose_files[0])
    built = skid("build", "app", "--compose", compose_file)
    assert built.returncode == 0, built.stdout + built.stderr
    assert "Step 5/5: RUN if" in built.stdout and "✓ app built in" in built.stdout
    broken = skid("build", "broken", "--compose", compose_file)
    assert broken.returncode == 1 and "✗ broken failed at step 2/3" in broken.stdout
    unknown = skid("build", "nope", "--compose", compose_file)
    assert unknown.returncode == 2 and not unknown.stdout
    assert unknown.stderr.startswith("skid: unknown service 'nope'") and unknown.stderr.count("\n") == 1
