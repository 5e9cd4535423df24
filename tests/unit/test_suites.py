"""Test suites under `x-skid-tests:` (parsing, one-line errors at FILE:LINE:COL), the memory-limit flag,
output line splitting, and what `skid test` prints, without an engine."""

from __future__ import annotations

import contextlib
import io
import os
import textwrap
from pathlib import Path

import pytest
from rich.console import Console

from skid_tui.cli.buildtest import cmd_test, suite_summary
from skid_tui.engine.testrun import LineSplitter, SuiteResult, container_binds, parse_memory_limit, suite_image
from skid_tui.ops.config import Options
from skid_tui.stack import ConfigError, load_stack
from skid_tui.stack.model import Location, TestSuite

REPO = Path(__file__).resolve().parents[2]
MiB, GiB = 1024**2, 1024**3


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def compose(tmp_path: Path, suites: str, extra: str = "") -> Path:
    """A compose file with one service `api` (built) and `db` (an image), then the given x-skid-tests body."""
    path = tmp_path / "compose.yml"
    base = textwrap.dedent(
        """
        name: suites
        services:
          api:
            build: ./api
            working_dir: /srv
            environment:
              NODE_ENV: test
              FROM_SHELL:
          db:
            image: postgres:15-alpine
        volumes:
          node_modules:
        """
    ).lstrip("\n")
    body = textwrap.indent(textwrap.dedent(suites).strip("\n"), "  ")
    path.write_text(f"{base}{textwrap.dedent(extra)}x-skid-tests:\n{body}\n")
    return path


def errors(path: Path, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_stack([path], environ=environ or {})
    return [str(i) for i in info.value.issues]


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


# --- the repository's suites ----------------------------------------------------------------------


def test_the_demo_stack_declares_three_offline_suites():
    stack = load_stack([REPO / "compose" / "demo.yml"], environ={})
    assert list(stack.suites) == ["unit-pass", "unit-fail", "memory-hog"]
    hog = stack.suites["memory-hog"]
    assert hog.image == "skid-demo/base:latest" and hog.service is None
    assert hog.shm_size == 1 * GiB
    assert hog.command[:2] == ("sh", "-ec")
    assert "/dev/shm/hog$i" in hog.command[2]  # `$$` in the file is a literal `$` for the shell
    assert stack.suites["unit-pass"].environment == {"SUITE": "unit-pass"}
    assert stack.suites["unit-pass"].working_dir == "/tmp"
    assert stack.suites["unit-pass"].location.line > 1
    # compose's own view of the file is untouched: the section stays among the extensions
    assert "x-skid-tests" in stack.extensions


def test_the_real_stack_declares_the_skidbladnir_suites_from_its_dev_containers(tmp_path):
    src = tmp_path / "checkout"
    stack = load_stack([REPO / "compose" / "skidbladnir.yml"], environ={"SKIDBLADNIR_SRC": str(src)})
    assert list(stack.suites) == ["typescript", "python", "go"]
    ts, py, go = stack.suites.values()
    assert (ts.service, ts.command) == ("typescript", ("npm", "test"))
    assert (py.service, py.command) == ("python", ("pytest",))
    assert (go.service, go.command) == ("go", ("go", "test", "./..."))
    for suite in (ts, py, go):
        assert suite.image is None
        assert suite.working_dir == "/app"
        assert suite.volumes[0] == f"{src}:/app"
    assert ts.volumes[1] == "node_modules:/app/node_modules"
    # the service's environment, then the suite's own
    assert ts.environment["NODE_ENV"] == "development" and ts.environment["CI"] == "true"
    assert go.environment["CGO_ENABLED"] == "0"
    # the image is the one `skid build go` tags, the named volume the project's
    assert suite_image(stack, go) == "testbridge/go-dev:latest"
    assert container_binds(stack, ts) == [f"{src}:/app", "skidbladnir_node_modules:/app/node_modules"]


def test_without_the_variable_the_checkout_defaults_beside_skid_tui():
    stack = load_stack([REPO / "compose" / "skidbladnir.yml"], environ={})
    expected = os.path.abspath(REPO / "compose" / ".." / ".." / "skidbladnir")
    assert stack.suites["python"].volumes == (f"{expected}:/app",)
    assert stack.warnings == ()


# --- parsing --------------------------------------------------------------------------------------


def test_a_string_command_runs_with_sh_and_a_service_suite_takes_the_service_settings(tmp_path):
    path = compose(
        tmp_path,
        """
        lint:
          service: api
          command: npm run lint && echo "$$HOME"
          environment: ["EXTRA=1", "FROM_SHELL", "UNSET_ONE"]
          volumes:
            - ./src:/srv/src:ro
            - node_modules:/srv/node_modules
            - {type: bind, source: ./cfg, target: /cfg, read_only: true}
          shm_size: 256m
        """,
    )
    (tmp_path / "api").mkdir()
    stack = load_stack([path], environ={"FROM_SHELL": "shell"})
    suite = stack.suites["lint"]
    assert suite.command == ("sh", "-c", 'npm run lint && echo "$HOME"')
    assert suite.service == "api" and suite.image is None
    assert suite.working_dir == "/srv"  # the service's
    assert suite.environment == {"NODE_ENV": "test", "FROM_SHELL": "shell", "EXTRA": "1"}
    assert suite.volumes == (f"{tmp_path}/src:/srv/src:ro", "node_modules:/srv/node_modules", f"{tmp_path}/cfg:/cfg:ro")
    assert suite.shm_size == 256 * MiB
    assert suite_image(stack, suite) == "suites-api:latest"  # compose v2's name for a build without image:


def test_an_empty_section_declares_no_suite(tmp_path):
    path = write(tmp_path / "c.yml", "services:\n  a: {image: x}\nx-skid-tests:\n")
    assert load_stack([path], environ={}).suites == {}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "broken:\n  command: [echo]\n",
            "compose.yml:14:3: test suite 'broken' has neither an image nor a service (expected image: or service:)",
        ),
        (
            "s:\n  service: web\n  command: [echo]\n",
            "compose.yml:15:14: test suite 's': unknown service 'web' (expected one of: api, db)",
        ),
        (
            "s:\n  image: x\n  command: 42\n",
            "compose.yml:16:14: test suite 's': 'command' is a number (expected a list of strings such as "
            '["npm", "test"], or a string run with sh -c)',
        ),
        (
            "s:\n  image: x\n  command: [echo, {a: 1}]\n",
            "compose.yml:16:21: test suite 's': 'command' item is a mapping (expected a string)",
        ),
        (
            "s:\n  image: x\n",
            "compose.yml:14:3: test suite 's' has no command (expected a list of strings such as "
            '["npm", "test"], or a string run with sh -c)',
        ),
        (
            "s:\n  image: x\n  command: [echo]\n  shm_size: lots\n",
            "compose.yml:17:15: test suite 's': malformed size 'lots' for 'shm_size' "
            "(expected a number with an optional unit: b, k, kb, m, mb, g, gb)",
        ),
        (
            "s:\n  image: x\n  command: [echo]\n  workdir: /x\n",
            "compose.yml:17:5: test suite 's': unknown key 'workdir' (expected one of: image, service, command, "
            "working_dir, environment, volumes, shm_size, description)",
        ),
        (
            "s:\n  image: x\n  service: api\n  command: [echo]\n",
            "compose.yml:16:5: test suite 's' has both an image and a service (expected image: or service:, "
            "not both)",
        ),
        (
            "s:\n  image: x\n  command: [echo]\n  volumes: [/only-a-target]\n",
            "compose.yml:17:15: test suite 's': volume '/only-a-target' has no source (an anonymous volume "
            "would outlive the run) (expected SOURCE:TARGET[:ro], SOURCE a path or a named volume of the stack)",
        ),
        (
            "s:\n  image: x\n  command: [echo]\n  volumes: ['cache:/cache']\n",
            "compose.yml:17:15: test suite 's': unknown volume 'cache' (expected a path (./dir, /dir) or one of "
            "the top-level volumes: node_modules)",
        ),
        (
            "s:\n  image: x\n  command: [echo]\n  working_dir: src\n",
            "compose.yml:17:18: test suite 's': working_dir 'src' is not absolute (expected an absolute path "
            "in the container)",
        ),
        (
            "s:\n  image: x\n  command: [echo]\n  environment: [1]\n",
            "compose.yml:17:19: test suite 's': environment item is a number (expected KEY=VALUE)",
        ),
        (
            "bad name:\n  image: x\n  command: [echo]\n",
            "compose.yml:14:3: invalid test suite name 'bad name' (expected letters, digits, '.', '_' or '-')",
        ),
        ("- a\n", "compose.yml:14:3: 'x-skid-tests' is a list (expected a mapping of suite names to suites)"),
        ("s: echo\n", "compose.yml:14:6: test suite 's' is a string (expected a mapping with image: or service:, "
                      "and command:)"),
    ],
)
def test_each_problem_is_one_line_at_its_place(tmp_path, body, expected):
    path = compose(tmp_path, body)
    assert errors(path) == [expected.replace("compose.yml", str(path))]


def test_every_suite_problem_is_reported_with_the_compose_errors_in_one_go(tmp_path):
    path = compose(
        tmp_path,
        """
        a:
          command: [echo]
        b:
          image: x
          command: 7
        """,
    )
    text = path.read_text().replace("image: postgres:15-alpine", "image: [oops]")
    path.write_text(text)
    found = errors(path)
    assert len(found) == 3
    assert "'image' is a list" in found[0]
    assert "test suite 'a' has neither" in found[1]
    assert "test suite 'b': 'command' is a number" in found[2]


def test_suites_from_an_override_file_merge_over_the_first(tmp_path):
    first = compose(tmp_path, "s:\n  image: x\n  command: [one]\n  description: first\n")
    second = write(tmp_path / "override.yml", "x-skid-tests:\n  s: {command: [two]}\n  t: {image: y, command: [t]}\n")
    stack = load_stack([first, second], environ={})
    assert stack.suites["s"].command == ("two",)
    assert stack.suites["s"].description == "first"
    assert list(stack.suites) == ["s", "t"]


# --- the memory limit -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("low", 512 * MiB), ("medium", 1 * GiB), ("HIGH", 2 * GiB), (" high ", 2 * GiB), ("768m", 768 * MiB),
     ("1.5g", int(1.5 * GiB)), ("3GiB", 3 * GiB), ("64mb", 64 * MiB)],
)  # fmt: skip
def test_memory_limit_words_and_sizes(text, expected):
    assert parse_memory_limit(text) == expected


@pytest.mark.parametrize("text", ["lots", "", "-1m", "1x", "2k"])
def test_a_bad_memory_limit_is_one_clear_error(text):
    with pytest.raises(ValueError) as info:
        parse_memory_limit(text)
    message = str(info.value)
    assert message.startswith(f"--memory-limit '{text}' ")
    assert "\n" not in message
    assert "low (512 MiB), medium (1 GiB), high (2 GiB)" in message


def test_cmd_test_rejects_bad_input_in_one_line_before_any_engine(capsys):
    stack = load_stack([REPO / "compose" / "demo.yml"], environ={})
    out = Console(file=io.StringIO())
    nowhere = Options(host="unix:///nonexistent/skid.sock")
    assert cmd_test(stack, nowhere, [], "huge", out) == 2
    assert cmd_test(stack, nowhere, ["unit-pass", "nope"], "low", out) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("skid: --memory-limit 'huge' is not a limit")
    assert err[1] == "skid: unknown test suite 'nope' (expected one of: unit-pass, unit-fail, memory-hog)"
    # good input, no engine: one line, exit 1
    assert cmd_test(stack, nowhere, ["unit-pass"], "low", out) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("skid: no container engine answered")


def test_cmd_test_on_a_stack_without_suites_says_how_to_add_them(tmp_path, capsys):
    path = write(tmp_path / "c.yml", "services:\n  a: {image: x}\n")
    stack = load_stack([path], environ={})
    with contextlib.redirect_stdout(io.StringIO()):
        assert cmd_test(stack, Options(), [], "medium", Console(file=io.StringIO())) == 2
    assert "declares no test suites (add them under x-skid-tests:" in capsys.readouterr().err


# --- output and results ---------------------------------------------------------------------------


def test_lines_are_reassembled_across_chunks_and_utf8_boundaries():
    splitter = LineSplitter()
    assert splitter.feed(b"collected 3 te") == []
    assert splitter.feed(b"sts\nok 1\nok") == ["collected 3 tests", "ok 1"]
    snowman = "☃".encode()
    assert splitter.feed(b" 2 " + snowman[:1]) == []
    assert splitter.feed(snowman[1:] + b"\n\n") == ["ok 2 ☃", ""]
    assert splitter.feed(b"10%\r50%\r100%\n") == ["100%"]  # a progress bar shows its last state
    assert splitter.feed(b"no newline at the end") == []
    assert splitter.close() == ["no newline at the end"]


def result(**kwargs) -> SuiteResult:
    values = {"suite": "s", "passed": False, "exit_code": 0, "seconds": 1.25, "peak_mem": 3 * MiB + 100 * 1024,
              "mem_limit": 512 * MiB, "oom_killed": False}  # fmt: skip
    values.update(kwargs)
    return SuiteResult(**values)


def test_the_result_lines_say_passed_failed_or_oom():
    assert suite_summary(result(suite="unit-pass", passed=True)).plain == (
        "✓ unit-pass passed in 1.2 s, peak 3.1 MiB of 512 MiB"
    )
    assert suite_summary(result(suite="unit-fail", exit_code=1, seconds=0.9)).plain == (
        "✗ unit-fail failed (exit 1) in 0.9 s"
    )
    oom = result(suite="big-memory", exit_code=137, oom_killed=True, seconds=2.3, peak_mem=511 * MiB)
    assert suite_summary(oom).plain == "✗ big-memory OOM-killed at its 512 MiB limit after 2.3 s (peak 511 MiB)"
    assert oom.outcome == "oom"
    assert result(exit_code=None, error="image x is not built yet").outcome == "error"
    assert suite_summary(result(exit_code=None, error="no image")).plain == "✗ s could not run: no image"
    assert result(cancelled=True, exit_code=137).outcome == "cancelled"


def test_a_suite_image_needs_an_image_or_a_known_service():
    stack = load_stack([REPO / "compose" / "demo.yml"], environ={})
    orphan = TestSuite(name="o", location=Location("x"), command=("true",), service="gone")
    with pytest.raises(ValueError, match="names no image and no known service"):
        suite_image(stack, orphan)


def test_a_secret_interpolated_into_a_command_is_never_shown(tmp_path):
    path = compose(tmp_path, """
        db-check:
          image: postgres:15-alpine
          command: "psql postgres://u:${DB_PASSWORD}@db/x -c 'select ${LIMIT}'"
    """)
    stack = load_stack([path], environ={"DB_PASSWORD": "hunter2", "LIMIT": "42"})
    suite = stack.suites["db-check"]
    assert "hunter2" in " ".join(suite.command)  # the container still gets it
    assert suite.shown_command() == "sh -c psql postgres://u:***@db/x -c 'select 42'"
    assert "hunter2" not in repr(suite)


def test_a_memory_limit_beyond_the_engine_int64_is_bad_input():
    with pytest.raises(ValueError, match="more than the engine can take"):
        parse_memory_limit("9999999999g")
    assert parse_memory_limit("64g") == 64 * GiB
