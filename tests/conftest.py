"""Shared fixtures. Engine tests run against the real private engine (`make test` starts it) and never
skip: without an engine they fail, so a CI run cannot pass without executing them."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from skid_tui.engine.client import Engine, EngineUnavailable
from skid_tui.engine.discovery import engine_candidates

# Times in panels (an OOM kill's) are local: pin the zone so snapshots match everywhere.
os.environ["TZ"] = "UTC"
time.tzset()

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "compose" / "demo.yml"
PROFILES = REPO / "profiles"
# Every published port of the demo stack: empty means "any free port", so tests never collide.
PORT_VARS = (
    "POSTGRES_HOST_PORT", "REDIS_HOST_PORT", "MINIO_HOST_PORT", "MINIO_CONSOLE_HOST_PORT", "API_HOST_PORT",
    "ORCHESTRATOR_HOST_PORT", "BINARY_PROCESSOR_HOST_PORT", "LLM_ADVISOR_HOST_PORT",
)  # fmt: skip


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "engine" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.engine)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    counts: dict[str, int] = {}
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            counted = report.when == "call" or outcome in ("error", "skipped")
            if counted and "engine" in getattr(report, "keywords", {}):
                counts[outcome] = counts.get(outcome, 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in counts.items()) or "none ran"
    host = os.environ.get("DOCKER_HOST", "the default engine")
    terminalreporter.write_line(f"engine tests against {host}: {summary}")


@pytest.fixture(autouse=True, scope="session")
def random_host_ports() -> Iterator[None]:
    """Compose runs started by the app under test publish on free ports, never the demo's fixed ones."""
    old = {k: os.environ.get(k) for k in PORT_VARS}
    os.environ.update(dict.fromkeys(PORT_VARS, ""))
    yield
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(autouse=True, scope="session")
def private_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Peaks and other state go to a throwaway XDG state dir, never the user's."""
    path = tmp_path_factory.mktemp("xdg-state")
    old = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(path)
    yield path
    if old is None:
        os.environ.pop("XDG_STATE_HOME", None)
    else:
        os.environ["XDG_STATE_HOME"] = old


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    try:
        eng = Engine.first_answering(engine_candidates())
    except EngineUnavailable as exc:
        pytest.fail(f"engine tests need the private engine (`make test` starts it): {exc}", pytrace=False)
    yield eng
    eng.close()


@pytest.fixture(scope="session")
def up_d(engine: Engine) -> str:
    """`up -d` as skid calls it on this engine: with `--no-recreate` on Podman (ops.compose says why)."""
    return "up -d --no-recreate" if engine.info.kind == "Podman" else "up -d"


@pytest.fixture(scope="session")
def podman(engine: Engine) -> bool:
    return engine.info.kind == "Podman"


@pytest.fixture(scope="session")
def compose_bin() -> str:
    found = shutil.which("docker-compose")
    if not found:
        pytest.fail("no docker-compose in PATH (`make install` puts a compose v2 binary in .venv/bin)")
    return found


class DemoProject:
    """A throwaway compose project (the demo stack by default), with random host ports."""

    def __init__(self, compose_bin: str, name: str, file: Path = DEMO) -> None:
        self.compose_bin = compose_bin
        self.name = name
        self.file = file
        self.env = {**os.environ, **dict.fromkeys(PORT_VARS, "")}

    def compose(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        cmd = [self.compose_bin, "-p", self.name, "-f", str(self.file), *args]
        result = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stderr}")
        return result

    def up(self, *services: str, wait: bool = False) -> None:
        self.compose("up", "-d", "--no-deps", *(["--wait"] if wait else []), *services)

    def stop(self, *services: str) -> None:
        self.compose("stop", "-t", "2", *services)

    def down(self) -> None:
        # The test's own throwaway volumes go with it; nothing else is touched.
        self.compose("--profile", "*", "down", "-v", "-t", "1", "--remove-orphans", check=False)


@pytest.fixture
def demo_project(engine: Engine, compose_bin: str) -> Iterator[DemoProject]:
    project = DemoProject(compose_bin, f"skidtest-{uuid.uuid4().hex[:8]}")
    yield project
    project.down()


RESOURCES = Path(__file__).resolve().parent / "functional" / "resources.yml"


@pytest.fixture
def resource_project(engine: Engine, compose_bin: str) -> Iterator[DemoProject]:
    """Busybox containers shaped for measuring: a 40 MiB hog, a CPU burner, an OOM victim."""
    project = DemoProject(compose_bin, f"skidres-{uuid.uuid4().hex[:8]}", RESOURCES)
    yield project
    project.down()
