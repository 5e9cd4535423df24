"""Which compose tool skid runs, found on a fake PATH, and the exact commands it runs."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest

from skid_tui.engine import compose_tool
from skid_tui.engine.compose_tool import (
    ComposeCall,
    ComposeNotFound,
    ComposeTool,
    detect_compose,
    last_error,
    run_compose,
)


def fake(bin_dir: Path, name: str, script: str) -> None:
    path = bin_dir / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


DOCKER_WITH_PLUGIN = 'if [ "$1" = compose ]; then echo "Docker Compose version v2.30.3"; exit 0; fi; exit 1'
DOCKER_WITHOUT_PLUGIN = 'echo "docker: unknown command: docker $1" >&2; exit 1'
COMPOSE_V1 = 'echo "docker-compose version 1.29.2, build unknown"'
COMPOSE_V2 = 'echo "Docker Compose version v2.40.3"'
PODMAN = 'if [ "$1" = compose ]; then echo "podman-compose version 1.0.6"; exit 0; fi; exit 1'
PODMAN_COMPOSE = 'echo "podman-compose version: 1.0.6"'


@pytest.fixture
def path(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(compose_tool, "INTERPRETER_BIN", tmp_path / "venv-bin")  # none beside the interpreter
    return tmp_path


def test_the_compose_beside_skids_interpreter_comes_first_even_off_path(path, monkeypatch):
    """`.venv/bin/skid` without the venv activated still finds the compose `make install` put beside it."""
    venv_bin = path / "venv-bin"
    venv_bin.mkdir()
    fake(venv_bin, "docker-compose", COMPOSE_V2)
    fake(path, "docker", DOCKER_WITH_PLUGIN)
    assert detect_compose() == ComposeTool((str(venv_bin / "docker-compose"),), "2.40.3")
    monkeypatch.setenv("PATH", "/nonexistent")
    assert detect_compose() == ComposeTool((str(venv_bin / "docker-compose"),), "2.40.3")
    (venv_bin / "docker-compose").chmod(0o644)  # not executable: passed over
    monkeypatch.setenv("PATH", str(path))
    assert detect_compose().argv == ("docker", "compose")


def test_docker_compose_plugin_comes_first(path):
    fake(path, "docker", DOCKER_WITH_PLUGIN)
    fake(path, "docker-compose", COMPOSE_V2)
    fake(path, "podman-compose", PODMAN_COMPOSE)
    tool = detect_compose()
    assert tool == ComposeTool(("docker", "compose"), "2.30.3")
    assert tool.describe() == "docker compose 2.30.3"


def test_docker_compose_v1_when_the_plugin_is_missing(path):
    fake(path, "docker", DOCKER_WITHOUT_PLUGIN)
    fake(path, "docker-compose", COMPOSE_V1)
    fake(path, "podman", PODMAN)
    assert detect_compose() == ComposeTool(("docker-compose",), "1.29.2")


def test_podman_compose_then_podman_compose_script(path):
    fake(path, "podman", PODMAN)
    fake(path, "podman-compose", PODMAN_COMPOSE)
    assert detect_compose().argv == ("podman", "compose")
    (path / "podman").unlink()
    tool = detect_compose()
    assert tool.argv == ("podman-compose",) and not tool.is_docker_compose


def test_compose_cmd_overrides_the_order(path):
    fake(path, "docker", DOCKER_WITH_PLUGIN)
    fake(path, "podman-compose", PODMAN_COMPOSE)
    assert detect_compose("podman-compose").argv == ("podman-compose",)
    with pytest.raises(ComposeNotFound) as info:
        detect_compose("nerdctl compose")
    assert "`nerdctl compose`: not installed" in str(info.value)


def test_nothing_found_names_every_attempt(path):
    fake(path, "docker", DOCKER_WITHOUT_PLUGIN)
    with pytest.raises(ComposeNotFound) as info:
        detect_compose()
    text = str(info.value)
    assert "`docker compose`: docker: unknown command: docker compose" in text
    for name in ("`docker-compose`: not installed", "`podman compose`: not installed",
                 "`podman-compose`: not installed"):
        assert name in text
    assert "--compose-cmd" in text


def test_the_exact_command():
    call = ComposeCall(ComposeTool(("docker", "compose"), "2.40.3"), ("compose/demo.yml", "over ride.yml"),
                       "skid-demo", ("up", "-d", "llm-advisor"), profiles=("llm",))
    assert call.display() == ("docker compose --ansi never -p skid-demo -f compose/demo.yml -f 'over ride.yml' "
                              "--profile llm up -d llm-advisor")
    podman = ComposeCall(ComposeTool(("podman-compose",), "1.0.6"), ("c.yml",), "p", ("stop", "redis"))
    assert podman.argv() == ["podman-compose", "-p", "p", "-f", "c.yml", "stop", "redis"]


def test_output_is_streamed_line_by_line_with_and_without_a_cancel_event(path):
    fake(path, "docker-compose", 'if [ "$1" = version ]; then echo v2.40.3; exit 0; fi\n'
                                 'echo " Container x-redis-1  Starting"; echo "Error: no such image" >&2; exit 3')
    call = ComposeCall(detect_compose(), ("c.yml",), "x", ("up", "-d", "redis"), env={"EXTRA": "1"})
    lines: list[str] = []
    assert run_compose(call, lines.append) == 3
    assert lines == [" Container x-redis-1  Starting", "Error: no such image"]
    more: list[str] = []
    assert run_compose(call, more.append, cancel=threading.Event()) == 3  # the dashboard's way, never set
    assert more == lines
    assert last_error(lines) == "Error: no such image"
