"""Engine discovery: the docker CLI's precedence, then the default sockets of Docker and Podman."""

import hashlib
import json
import socket
from pathlib import Path

import pytest

from skid_tui.engine.client import Engine, EngineUnavailable
from skid_tui.engine.discovery import EngineCandidate, engine_candidates


def write_context(home: Path, name: str, host: str) -> None:
    meta = home / ".docker" / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(json.dumps({"Name": name, "Endpoints": {"docker": {"Host": host}}}))


def set_current_context(home: Path, name: str) -> None:
    (home / ".docker").mkdir(exist_ok=True)
    (home / ".docker" / "config.json").write_text(json.dumps({"currentContext": name}))


def test_host_option_wins_over_everything(tmp_path):
    set_current_context(tmp_path, "colima")
    write_context(tmp_path, "colima", "unix:///colima.sock")
    found = engine_candidates("tcp://10.0.0.1:2375", {"DOCKER_HOST": "unix:///env.sock"}, tmp_path)
    assert found == [EngineCandidate("tcp://10.0.0.1:2375", "--host", explicit=True)]


def test_docker_host_beats_context(tmp_path):
    set_current_context(tmp_path, "colima")
    write_context(tmp_path, "colima", "unix:///colima.sock")
    found = engine_candidates(None, {"DOCKER_HOST": "unix:///env.sock", "DOCKER_CONTEXT": "x"}, tmp_path)
    assert [(c.url, c.source) for c in found] == [("unix:///env.sock", "DOCKER_HOST")]


def test_docker_context_env_beats_config_file(tmp_path):
    set_current_context(tmp_path, "colima")
    write_context(tmp_path, "colima", "unix:///colima.sock")
    write_context(tmp_path, "desktop-linux", "unix:///desktop.sock")
    found = engine_candidates(None, {"DOCKER_CONTEXT": "desktop-linux"}, tmp_path)
    assert [(c.url, c.source) for c in found] == [("unix:///desktop.sock", "docker context 'desktop-linux'")]


def test_current_context_from_config_json(tmp_path):
    set_current_context(tmp_path, "colima")
    write_context(tmp_path, "colima", "unix:///colima.sock")
    found = engine_candidates(None, {}, tmp_path)
    assert [(c.url, c.explicit) for c in found] == [("unix:///colima.sock", True)]


def test_docker_config_env_moves_the_config_dir(tmp_path):
    config = tmp_path / "elsewhere"
    config.mkdir()
    (config / "config.json").write_text(json.dumps({"currentContext": "remote"}))
    meta = config / "contexts" / "meta" / hashlib.sha256(b"remote").hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(json.dumps({"Endpoints": {"docker": {"Host": "ssh://me@box"}}}))
    found = engine_candidates(None, {"DOCKER_CONFIG": str(config)}, tmp_path / "home")
    assert found[0].url == "ssh://me@box"


def test_missing_context_meta_is_reported_not_skipped(tmp_path):
    set_current_context(tmp_path, "gone")
    [candidate] = engine_candidates(None, {}, tmp_path)
    assert candidate.url is None and candidate.explicit
    assert "context not found" in (candidate.problem or "")


def test_default_context_falls_through_to_default_sockets(tmp_path):
    set_current_context(tmp_path, "default")
    found = engine_candidates(None, {"XDG_RUNTIME_DIR": "/run/user/1000"}, tmp_path)
    assert [c.url for c in found] == [
        "unix:///var/run/docker.sock",
        f"unix://{tmp_path}/.docker/run/docker.sock",
        f"unix://{tmp_path}/.docker/desktop/docker.sock",
        "unix:///run/podman/podman.sock",
        "unix:///run/user/1000/podman/podman.sock",
    ]
    assert not any(c.explicit for c in found)


def test_bare_socket_path_is_a_unix_url(tmp_path):
    [c] = engine_candidates("/tmp/x/docker.sock", {}, tmp_path)
    assert c.url == "unix:///tmp/x/docker.sock"


def test_nothing_answers_names_every_attempt(tmp_path):
    # A real socket file with nobody accepting, and one that does not exist at all.
    path = tmp_path / "dead.sock"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    s.close()
    candidates = [
        EngineCandidate(f"unix://{path}", "Docker Engine default socket"),
        EngineCandidate(f"unix://{tmp_path}/missing.sock", "Podman rootless socket"),
    ]
    with pytest.raises(EngineUnavailable) as info:
        Engine.first_answering(candidates, timeout=1)
    text = str(info.value)
    assert f"unix://{path} (Docker Engine default socket): connection refused" in text
    assert f"unix://{tmp_path}/missing.sock (Podman rootless socket): no such socket" in text
    assert "scripts/engine.sh up" in text
    assert [a.error for a in info.value.attempts] == ["connection refused", "no such socket"]
