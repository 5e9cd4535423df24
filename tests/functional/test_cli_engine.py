"""`skid status` against the real private engine agrees with what the engine says."""

from __future__ import annotations

import json
import subprocess
import sys

from skid_tui.engine.containers import read_project, service_containers
from tests.conftest import DEMO, REPO


def skid_status(project: str, *extra: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "skid_tui", "--compose", str(DEMO), "--project-name", project, "status", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=60, check=False)


def test_status_json_agrees_with_the_engine(engine, demo_project):
    demo_project.up("postgres", "redis", wait=True)
    demo_project.up("binary-processor")
    demo_project.stop("binary-processor")

    out = skid_status(demo_project.name, "--json")
    assert out.returncode == 0, out.stderr
    rows = {r["service"]: r for r in json.loads(out.stdout)["services"]}

    truth = service_containers(read_project(engine, demo_project.name), demo_project.name)
    assert set(truth) == {"postgres", "redis", "binary-processor"}
    for service, containers in truth.items():
        c = containers[0]
        assert rows[service]["container"] == c.short_id
        assert rows[service]["state"] == c.state
        assert rows[service]["health"] == c.health
    assert rows["postgres"]["state"] == "running" and rows["postgres"]["health"] == "healthy"
    assert rows["binary-processor"]["state"] == "exited"
    assert rows["minio"] == {"service": "minio", "state": "not created", "health": None, "container": None,
                             "exit_code": None, "name": None}
    assert len(rows) == 10  # every service of the stack, created or not


def test_status_table(engine, demo_project):
    demo_project.up("redis")
    out = skid_status(demo_project.name)
    assert out.returncode == 0, out.stderr
    redis = next(line for line in out.stdout.splitlines() if line.startswith("redis"))
    assert "running" in redis
    assert engine.info.kind in out.stdout.splitlines()[0]  # "Docker Engine", "Podman"
