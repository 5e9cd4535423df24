"""The CLI without an engine: `check`, config errors as one line with exit 2, usage errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DEMO, PROFILES, REPO

MiB = 1024**2


def skid(*args: str, cwd: Path = REPO, env: dict | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "skid_tui", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, check=False, env=env, timeout=60)


def test_version():
    out = skid("--version")
    assert out.returncode == 0 and out.stdout.startswith("skid ")


def test_check_json_on_the_demo_stack():
    out = skid("--compose", str(DEMO), "check", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["services"]["postgres"]["mem_standard_bytes"] == 256 * MiB
    assert report["services"]["postgres"]["mem_max_bytes"] == 512 * MiB
    assert report["services"]["postgres"]["cpus_limit"] == 0.5
    assert "minimal" in report["services"]["postgres"]["profiles"]
    minimal = report["profiles"]["minimal"]
    assert minimal["services"] == ["postgres", "redis", "minio"]
    assert minimal["mem_standard_bytes"] == (256 + 128 + 256) * MiB
    assert minimal["mem_max_bytes"] == (512 + 256 + 512) * MiB
    assert minimal["host_budget_bytes"] == 6 * 1024**3


def test_check_table_on_the_real_stack(tmp_path):
    out = skid("check", env={"PATH": "/usr/bin:/bin", "SKIDBLADNIR_SRC": str(tmp_path), "HOME": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    assert "skidbladnir" in out.stdout
    for profile in ("minimal", "app", "llm", "full", "typescript", "python", "go"):
        assert profile in out.stdout


def test_global_options_after_the_command():
    out = skid("check", "--json", "--compose", str(DEMO), "--profiles", str(PROFILES))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["profiles_dir"] == str(PROFILES)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


GOOD_COMPOSE = """\
services:
  db:
    image: postgres
    mem_reservation: 256m
    mem_limit: 512m
  cache:
    image: redis
"""


@pytest.mark.parametrize(
    ("compose", "profile", "where"),
    [
        ("services:\n  db: [\n", None, "compose.yml:2:"),
        (GOOD_COMPOSE.replace("512m", "512xb"), None, "compose.yml:5:16"),
        (GOOD_COMPOSE.replace("512m", "128m"), None, "compose.yml:4:22"),
        (GOOD_COMPOSE, "services: [db, nope]\n", "p.yaml:1:16"),
    ],
    ids=["yaml-syntax", "malformed-size", "standard-over-maximum", "unknown-service"],
)
def test_config_errors_are_one_line_exit_2_no_traceback(tmp_path, compose, profile, where):
    compose_file = write(tmp_path / "compose.yml", compose)
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    if profile:
        write(profiles / "p.yaml", profile)
    out = skid("--compose", str(compose_file), "--profiles", str(profiles), "check")
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert where in lines[0]
    assert "Traceback" not in out.stderr and out.stdout == ""


def test_missing_compose_file(tmp_path):
    out = skid("--compose", str(tmp_path / "nope.yml"), "check")
    assert out.returncode == 2
    assert out.stderr.strip().startswith(f"{tmp_path / 'nope.yml'}:1:1: cannot read compose file")


def test_over_budget_profile_is_a_warning_with_exit_0(tmp_path):
    compose_file = write(tmp_path / "compose.yml", GOOD_COMPOSE)
    write(tmp_path / "profiles" / "tiny.yaml", "services: [db]\nhost_budget: 100m\n")
    out = skid("--compose", str(compose_file), "--profiles", str(tmp_path / "profiles"), "check")
    assert out.returncode == 0
    [line] = out.stderr.strip().splitlines()
    assert "tiny.yaml:2:14: warning: profile 'tiny' needs" in line


def test_unknown_profile_and_unknown_option_are_usage_errors():
    out = skid("--compose", str(DEMO), "--profile", "nope", "check")
    assert out.returncode == 2
    assert out.stderr.strip() == (
        "skid: unknown profile 'nope' (expected one of: app, full, go, llm, minimal, python, typescript)"
    )
    bad = skid("--frobnicate")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_status_without_an_engine_says_what_it_tried(tmp_path):
    out = skid("--compose", str(DEMO), "--host", f"unix://{tmp_path}/none.sock", "status")
    assert out.returncode == 1
    assert f"unix://{tmp_path}/none.sock (--host): no such socket" in out.stderr
    assert "Traceback" not in out.stderr


def test_bundled_files_are_found_from_anywhere(tmp_path):
    out = skid("check", "--json", cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                                                      "PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["project"] == "skidbladnir" and "llm-advisor" in report["services"]


def test_lifecycle_commands_are_wired(tmp_path):
    nowhere = f"unix://{tmp_path}/none.sock"
    out = skid("--compose", str(DEMO), "--host", nowhere, "profiles", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["profiles"]["app"]["verdict"] == "fits"
    bad = skid("--compose", str(DEMO), "--host", nowhere, "up", "nope")
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith("skid: unknown service 'nope'")
    llm = skid("--compose", str(DEMO), "llm", "maybe")
    assert llm.returncode == 2 and len(llm.stderr.strip().splitlines()) == 1
    down = skid("--compose", str(DEMO), "--host", nowhere, "down", "--volumes", "--compose-cmd", "true")
    assert down.returncode in (1, 2) and "Traceback" not in down.stderr
