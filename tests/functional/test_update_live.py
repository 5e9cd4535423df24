"""`skid update` against the real private engine: the running container's limits change as `docker inspect` reads
them (raised above the old swap, lowered, every replica), the engine's refusals come back as one line, bad input
changes nothing, and `--write-override` writes a file the compose tool loads with the project's files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from skid_tui.engine.client import Engine
from skid_tui.engine.containers import read_project, service_containers
from tests.conftest import DEMO, PROFILES, REPO, RESOURCES, DemoProject

pytestmark = pytest.mark.engine

MiB = 1024**2
DOCKER = "/usr/bin/docker"  # Debian's client speaks to the 20.10 engine


def skid(project: DemoProject, *args: str, compose: Path = RESOURCES) -> subprocess.CompletedProcess:
    # The bundled profiles name the demo stack's services: given with it only.
    profiles = ("--profiles", str(PROFILES)) if compose == DEMO else ()
    cmd = [sys.executable, "-m", "skid_tui", "--compose", str(compose), *profiles, "--project-name", project.name,
           "update", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=project.env, timeout=60, check=False)


def running(engine: Engine, project: DemoProject, service: str) -> list[str]:
    grouped = service_containers(read_project(engine, project.name), project.name)
    return [c.id for c in grouped.get(service, ()) if c.state == "running"]


def host_config(engine: Engine, container_id: str) -> dict:
    return engine.api.inspect_container(container_id)["HostConfig"]


def docker_inspect_memory(container_id: str) -> int:
    """HostConfig.Memory as the docker CLI reads it (the issue's test), else as the API does."""
    if not os.path.exists(DOCKER) or not os.environ.get("DOCKER_HOST"):
        pytest.fail("these tests read the limit with the docker CLI: run them with DOCKER_HOST set", pytrace=False)
    out = subprocess.run([DOCKER, "inspect", "--format", "{{.HostConfig.Memory}}", container_id],
                         capture_output=True, text=True, timeout=30, check=True)
    return int(out.stdout.strip())


def test_memory_raised_above_the_old_swap_then_lowered(engine: Engine, podman: bool, resource_project: DemoProject):
    resource_project.up("hog")  # 64m limit, 32m reservation, swap Docker's default 128m; 40 MiB used in /dev/shm
    [cid] = running(engine, resource_project, "hog")
    if podman:
        said = skid(resource_project, "hog", "--memory", "96m")
        assert said.returncode == 1, said
        assert "this engine does not support changing a running container's limits (Podman" in said.stderr
        assert host_config(engine, cid)["Memory"] == 64 * MiB
        return
    assert host_config(engine, cid)["MemorySwap"] == 128 * MiB

    done = skid(resource_project, "hog", "--memory", "96m")
    assert done.returncode == 0, done.stderr
    assert f"hog: memory 64M -> 96M (container {cid[:12]})" in done.stdout
    assert "the next `compose up` (or skid recreate) resets these" in done.stdout
    assert docker_inspect_memory(cid) == 96 * MiB
    assert host_config(engine, cid)["MemorySwap"] == 192 * MiB  # the swap allowance moved with it

    # Above the swap just set: Docker refuses a memory limit over MemorySwap unless both change together.
    done = skid(resource_project, "hog", "--memory", "300m", "--reservation", "200m")
    assert done.returncode == 0, done.stderr
    assert "hog: memory 96M -> 300M, reservation 32M -> 200M" in done.stdout
    config = host_config(engine, cid)
    assert (config["Memory"], config["MemoryReservation"], config["MemorySwap"]) == (300 * MiB, 200 * MiB, 600 * MiB)

    done = skid(resource_project, "hog", "--memory", "80m", "--reservation", "48m")
    assert done.returncode == 0, done.stderr
    assert docker_inspect_memory(cid) == 80 * MiB
    assert host_config(engine, cid)["MemoryReservation"] == 48 * MiB

    # Below what it uses (40 MiB of shm, which cannot be reclaimed without swap): the kernel says no.
    refused = skid(resource_project, "hog", "--memory", "16m", "--reservation", "8m")
    assert refused.returncode == 1, refused
    [line] = refused.stderr.strip().splitlines()
    assert line.startswith("skid: ") and "the kernel refused a limit of 16 MiB: the container uses" in line
    assert docker_inspect_memory(cid) == 80 * MiB
    assert engine.api.inspect_container(cid)["State"]["Status"] == "running"


def test_bad_input_changes_nothing(engine: Engine, resource_project: DemoProject):
    resource_project.up("hog")
    [cid] = running(engine, resource_project, "hog")
    for args, said in (
        (("--memory", "96m", "--reservation", "128m"), "reservation 128 MiB is above the memory limit 96 MiB"),
        (("--memory", "4m"), "memory 4.0 MiB is below 6.0 MiB"),
        (("--cpus", "lots"), "malformed cpus 'lots'"),
        ((), "nothing to change"),
        (("--reservation", "100m"), "reservation 100 MiB is above"),  # above the limit it keeps (64m)
    ):
        refused = skid(resource_project, "hog", *args)
        assert refused.returncode == 2, (args, refused)
        [line] = refused.stderr.strip().splitlines()
        assert said in line, (args, line)
    unknown = skid(resource_project, "nope", "--memory", "96m")
    assert unknown.returncode == 2 and "unknown service 'nope'" in unknown.stderr
    assert host_config(engine, cid)["Memory"] == 64 * MiB
    assert host_config(engine, cid)["MemoryReservation"] == 32 * MiB

    stopped = skid(resource_project, "burner", "--memory", "96m")
    assert stopped.returncode == 1
    assert "burner is not running: start it first, its limits come from the compose file" in stopped.stderr


def test_every_replica_and_a_container_that_had_no_limit(engine: Engine, podman: bool,
                                                        resource_project: DemoProject):
    resource_project.compose("up", "-d", "--scale", "talker=2", "talker")  # no memory limit at all
    ids = running(engine, resource_project, "talker")
    assert len(ids) == 2
    done = skid(resource_project, "talker", "--memory", "32m")
    if podman:
        assert done.returncode == 1 and "does not support" in done.stderr
        return
    assert done.returncode == 0, done.stderr
    for cid in ids:
        assert f"talker: memory none -> 32M (container {cid[:12]})" in done.stdout
        config = host_config(engine, cid)
        assert (config["Memory"], config["MemorySwap"]) == (32 * MiB, 64 * MiB)


def test_cpus_set_the_way_compose_set_them(engine: Engine, podman: bool, resource_project: DemoProject):
    resource_project.up("burner")  # compose's `cpus: 0.5`: NanoCpus, beside which Docker refuses a CFS quota
    [cid] = running(engine, resource_project, "burner")
    done = skid(resource_project, "burner", "--cpus", "1")
    if podman:
        assert done.returncode == 1 and "does not support" in done.stderr
        return
    assert done.returncode == 0, done.stderr
    assert f"burner: cpus 0.5 -> 1 (container {cid[:12]})" in done.stdout
    assert host_config(engine, cid)["NanoCpus"] == 1_000_000_000
    too_many = skid(resource_project, "burner", "--cpus", str(engine.info.ncpu + 1))
    assert too_many.returncode == 1
    assert "Range of CPUs is from 0.01 to" in too_many.stderr  # the engine's own words, one line
    assert host_config(engine, cid)["NanoCpus"] == 1_000_000_000


def compose_config(project: DemoProject, *files: Path) -> dict:
    cmd = [project.compose_bin, "-p", project.name, *(a for f in files for a in ("-f", str(f))), "config",
           "--format", "json"]
    out = subprocess.run(cmd, env=project.env, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["services"]


def test_override_written_in_the_files_spelling_loads_in_compose(engine: Engine, podman: bool,
                                                                 resource_project: DemoProject, tmp_path: Path):
    resource_project.up("hog")  # resources.yml writes mem_limit / mem_reservation / cpus
    override = tmp_path / "limits.yml"
    done = skid(resource_project, "hog", "--memory", "96m", "--reservation", "48m", "--cpus", "0.5",
                "--write-override", str(override))
    if podman:  # the file records what was applied: nothing was
        assert done.returncode == 1 and "does not support" in done.stderr and not override.exists()
        return
    assert done.returncode == 0, done.stderr
    assert f"wrote {override}" in done.stdout
    hog = compose_config(resource_project, RESOURCES, override)["hog"]
    assert (int(hog["mem_limit"]), int(hog["mem_reservation"]), float(hog["cpus"])) == (96 * MiB, 48 * MiB, 0.5)
    assert "deploy" not in hog or not hog["deploy"].get("resources")


def test_override_for_a_deploy_resources_stack_loads_in_compose(engine: Engine, podman: bool,
                                                                demo_project: DemoProject, tmp_path: Path):
    demo_project.up("redis")  # demo.yml writes deploy.resources: limits 256M / 0.3 cpus, reservations 128M
    [cid] = running(engine, demo_project, "redis")
    override = tmp_path / "limits.yml"
    done = skid(demo_project, "redis", "--memory", "384m", "--write-override", str(override), compose=DEMO)
    if podman:
        assert done.returncode == 1 and "does not support" in done.stderr and not override.exists()
        return
    assert done.returncode == 0, done.stderr
    assert docker_inspect_memory(cid) == 384 * MiB
    redis = compose_config(demo_project, DEMO, override)["redis"]
    resources = redis["deploy"]["resources"]
    assert int(resources["limits"]["memory"]) == 384 * MiB
    assert float(resources["limits"]["cpus"]) == 0.3  # what the override leaves out stays the file's
    assert int(resources["reservations"]["memory"]) == 128 * MiB
    # skid reads the pair as the compose tool does: the budget's maximum is the override's.
    check = subprocess.run([sys.executable, "-m", "skid_tui", "--compose", str(DEMO), "--compose", str(override),
                            "--profiles", str(PROFILES), "check", "--json"], capture_output=True, text=True,
                           cwd=REPO, timeout=60, check=False)
    assert check.returncode == 0, check.stderr
    budget = json.loads(check.stdout)["services"]["redis"]
    assert (budget["mem_max_bytes"], budget["mem_standard_bytes"]) == (384 * MiB, 128 * MiB)


async def test_u_on_a_panel_changes_the_limits_and_moves_the_marks(engine: Engine, podman: bool,
                                                                  resource_project: DemoProject):
    from textual.widgets import Input

    from skid_tui.engine.discovery import engine_candidates
    from skid_tui.stack import load_stack
    from skid_tui.ui.app import SkidApp
    from skid_tui.ui.screens.update import UpdateScreen
    from tests.functional.helpers import wait_until

    resource_project.up("hog")
    [hog] = running(engine, resource_project, "hog")
    stack = load_stack([str(RESOURCES)], None, project_name=resource_project.name)
    app = SkidApp(stack, stack.profiles["default"], engine_candidates)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: app.first_paint_at is not None, 15, "a complete paint")
        app.query_one("#svc-hog").focus()
        await pilot.press("u")
        await wait_until(pilot, lambda: isinstance(app.screen, UpdateScreen), 10, "the limits dialog")
        memory = app.screen.query_one("#update-memory", Input)
        assert memory.value == "64M"  # the container's limit now, read from the engine
        memory.value = ""
        await pilot.press(*"96M", "tab")
        reservation = app.screen.query_one("#update-reservation", Input)
        reservation.value = ""
        await pilot.press(*"48M", "enter")
        if podman:
            # Podman 4's compatible API has no container update: said in place of the change, nothing moved.
            await wait_until(pilot, lambda: "does not support" in " ".join(n.message for n in app._notifications),
                             15, "the engine's refusal")
            assert app.model.resources("hog").mem_max_bytes == 64 * MiB
            return
        await wait_until(pilot, lambda: app.model.resources("hog").mem_max_bytes == 96 * MiB, 15,
                         "the panel's maximum mark at 96 MiB")
        r = app.model.resources("hog")
        assert r.mem_standard_bytes == 48 * MiB
        config = host_config(engine, hog)
        assert config["Memory"] == 96 * MiB and config["MemoryReservation"] == 48 * MiB
        assert any("compose up" in n.message for n in app._notifications)  # the next up resets them: said
