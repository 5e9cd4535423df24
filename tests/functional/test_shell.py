"""A shell in a dev container, on the real engine: `skid shell SERVICE -- CMD` (its exit status and output,
no tty when stdin is none, a service started first), and `s` in the dashboard drawn in a real terminal
(tmux): the session takes the terminal, the dashboard comes back with its panels when the shell exits."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from skid_tui.engine.client import Engine
from tests.conftest import DEMO, PROFILES, DemoProject

REPO = Path(__file__).resolve().parents[2]


def skid(project: DemoProject, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "skid_tui", "--compose", str(DEMO), "--profiles", str(PROFILES),
                           "--project-name", project.name, *args], input=stdin,
                          stdin=None if stdin is not None else subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=180, env=project.env, check=False)


def running_services(engine: Engine, project: str) -> set[str]:
    found = engine.api.containers(filters={"label": f"com.docker.compose.project={project}"})
    return {c["Labels"]["com.docker.compose.service"] for c in found}


def test_shell_command_exit_status_output_and_a_service_started_first(engine: Engine, demo_project: DemoProject):
    # go is not running: it is started first (its compose profile, its memory check), then CMD runs in it.
    result = skid(demo_project, "shell", "go", "--", "sh", "-c", "echo out; echo err >&2; echo $DEVBOX_LANG; exit 3")
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert result.stdout == "out\ngo\n", result.stdout  # stdout is the command's alone
    assert "err" in result.stderr and "go is not running: starting it first" in result.stderr, result.stderr
    assert "go" in running_services(engine, demo_project.name)

    # No terminal on stdin: no tty; what is piped in reaches the command, and its end ends the command.
    piped = skid(demo_project, "shell", "go", "--", "cat", stdin="one\ntwo\n")
    assert (piped.returncode, piped.stdout) == (0, "one\ntwo\n"), (piped.stdout, piped.stderr)
    tty = skid(demo_project, "shell", "go", "--", "sh", "-c", "test -t 0 && echo tty || echo no-tty")
    assert tty.stdout == "no-tty\n"

    # No command: a shell (busybox has no bash: sh, and it says so), reading its commands from stdin.
    shell = skid(demo_project, "shell", "go", stdin="echo from-the-shell\nexit 5\n")
    assert (shell.returncode, shell.stdout) == (5, "from-the-shell\n"), (shell.stdout, shell.stderr)
    assert "no bash in" in shell.stderr and ": sh" in shell.stderr

    missing = skid(demo_project, "shell", "go", "--", "no-such-program")
    assert missing.returncode != 0 and "Traceback" not in missing.stderr, missing.stderr
    bad = skid(demo_project, "shell", "nosuch")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "unknown service 'nosuch'" in bad.stderr


# -- the dashboard, in a real terminal ---------------------------------------------------------------------


class Tmux:
    def __init__(self, command: str, env: dict[str, str]) -> None:
        self.socket = f"skidshell{uuid.uuid4().hex[:8]}"
        self.env = env
        # The pane stays when the dashboard exits (a crash shows its traceback in the failure's screen).
        self.run("new-session", "-d", "-x", "160", "-y", "48", "-s", "t", f"{command}; sleep 600")

    def run(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, env=self.env,
                              check=True, timeout=10).stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "t")

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", "t", *keys)

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never showed within {timeout} s; the screen:\n{screen}")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, check=False)


@pytest.fixture
def tmux_dashboard(demo_project: DemoProject) -> Iterator[Tmux]:
    env = {**demo_project.env, "TERM": "xterm-256color", "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    command = shlex.join([sys.executable, "-m", "skid_tui", "--compose", str(DEMO), "--profiles", str(PROFILES),
                          "--project-name", demo_project.name, "--profile", "go"])
    tmux = Tmux(command, env)
    yield tmux
    try:
        tmux.keys("q")
        time.sleep(0.5)
    finally:
        tmux.close()


def test_s_opens_a_shell_and_the_dashboard_comes_back(engine: Engine, demo_project: DemoProject, tmux_dashboard):
    demo_project.up("go")
    t = tmux_dashboard
    t.wait_for("running 1/10")
    t.keys("C-p")  # the palette: "Go to go" selects its panel
    t.wait_for("Search for commands")
    t.keys("Go to go")
    time.sleep(0.5)
    t.keys("Enter")
    time.sleep(0.5)
    t.keys("s")
    t.wait_for("exit it to return to the dashboard")
    t.wait_for("/app #")  # busybox sh's prompt, in the dev container's working directory
    t.keys("echo $DEVBOX_LANG-$((6*7)) > /tmp/skid-shell", "Enter")
    t.keys("stty size", "Enter")
    screen = t.wait_for("48 160")  # the container's tty has the terminal's size
    t.keys("exit 4", "Enter")
    screen = t.wait_for("ended (exit 4)", timeout=15)  # the dashboard is back, and says so
    assert "╭─ go " in screen and "running 1/10" in screen, screen
    [c] = engine.api.containers(filters={"label": [f"com.docker.compose.project={demo_project.name}",
                                                    "com.docker.compose.service=go"]})
    exec_id = engine.api.exec_create(c["Id"], ["cat", "/tmp/skid-shell"])["Id"]
    assert engine.api.exec_start(exec_id).decode().strip() == "go-42"
    # Keys reach the dashboard again: ? opens the help.
    t.keys("?")
    t.wait_for("Command palette")
