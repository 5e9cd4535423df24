"""The stats agent against a real engine: the cgroups' numbers, one reading a second, and nothing left behind
(when skid stops it, when skid is killed, and when a dead skid's agent is found by the next one)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time

import docker.errors
import pytest

from skid_tui.engine.agent import HOST_LABEL, LABEL, PID_LABEL, StatsAgent, remove_stale
from skid_tui.engine.containers import snapshot_from_inspect
from skid_tui.engine.sampler import StatsSampler
from tests.conftest import REPO

pytestmark = pytest.mark.engine
MiB = 1 << 20


def service_id(engine, project, service: str) -> str:
    [c] = engine.api.containers(filters={"label": [f"com.docker.compose.project={project.name}",
                                                   f"com.docker.compose.service={service}"]})
    return c["Id"]


def gone(engine, cid: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            engine.api.inspect_container(cid)
        except docker.errors.NotFound:
            return True
        time.sleep(0.2)
    return False


def agents(engine) -> list[str]:
    return [c["Id"] for c in engine.api.containers(all=True, filters={"label": LABEL})]


def test_the_agent_reads_the_cgroups_and_is_gone_when_stopped(engine, resource_project):
    resource_project.up("hog", "burner")
    hog, burner = service_id(engine, resource_project, "hog"), service_id(engine, resource_project, "burner")
    agent = StatsAgent(engine)
    agent.start()
    try:
        first = agent.read(scan=True)
        time.sleep(1)
        second = agent.read()
    finally:
        agent.stop()
    # 40 MiB in /dev/shm, a 64 MiB limit; the burner spends half a CPU, as cpus: 0.5 allows.
    h = second[hog]
    assert 40 * MiB <= h.usage - h.inactive <= 48 * MiB, h
    assert h.limit == 64 * MiB and h.pids is not None and h.pids >= 2
    busy = (second[burner].cpu_ns - first[burner].cpu_ns) / 1e9
    assert 0.3 < busy < 0.8, busy
    assert agent.container_id is None and not agents(engine)


def test_the_dashboard_path_samples_every_container_through_the_agent(engine, resource_project):
    resource_project.up("hog", "burner")
    batches = []
    sampler = StatsSampler(engine, lambda batch: None, mode="agent", interval=0.5)
    for c in engine.api.containers(filters={"label": f"com.docker.compose.project={resource_project.name}"}):
        sampler.track(snapshot_from_inspect(engine.api.inspect_container(c["Id"])))
    try:
        for _ in range(4):
            batches.append(sampler.tick())
            time.sleep(0.5)
    finally:
        sampler.stop()
    last = batches[-1]
    assert last.source == "agent" and not last.fallbacks
    burner = service_id(engine, resource_project, "burner")
    [s] = [s for s in last.samples if s.container_id == burner]
    assert s.source == "agent" and s.cpu_percent is not None and 30 < s.cpu_percent < 70, s
    assert not agents(engine)


def test_a_killed_skids_agent_ends_with_its_stdin_and_a_dead_skids_agent_is_removed(engine):
    # A skid killed outright: the engine sees the attach connection close, awk reads EOF, auto-remove.
    code = ("import sys; from skid_tui.engine.agent import StatsAgent; from skid_tui.engine.client import Engine;"
            "from skid_tui.engine.discovery import EngineCandidate;"
            "a = StatsAgent(Engine.connect(EngineCandidate(sys.argv[1], 'test'))); a.start();"
            "print(a.container_id, flush=True); sys.stdin.read()")
    proc = subprocess.Popen([sys.executable, "-c", code, engine.info.candidate.url], cwd=REPO,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        cid = proc.stdout.readline().strip()
        assert len(cid) == 64 and engine.api.inspect_container(cid)["State"]["Running"]
    finally:
        proc.kill()
        proc.wait()
    assert gone(engine, cid, 15), "the agent outlived skid"

    # One whose stdin never ended (an engine that kept it): the next skid removes it, if its skid is dead.
    dead = subprocess.Popen(["true"])
    dead.wait()
    labels = {LABEL: "stats", HOST_LABEL: "this-host", PID_LABEL: str(dead.pid)}
    stale = engine.api.create_container("skid-demo/base:latest", ["sleep", "600"], labels=labels)["Id"]
    live = engine.api.create_container("skid-demo/base:latest", ["sleep", "600"],
                                       labels={**labels, PID_LABEL: str(os.getppid())})["Id"]
    elsewhere = engine.api.create_container("skid-demo/base:latest", ["sleep", "600"],
                                            labels={**labels, HOST_LABEL: "another-host"})["Id"]
    try:
        remove_stale(engine, host="this-host")
        with pytest.raises(docker.errors.NotFound):
            engine.api.inspect_container(stale)
        engine.api.inspect_container(live)  # its skid is alive
        engine.api.inspect_container(elsewhere)  # another machine's: not ours to judge
    finally:
        for cid in (stale, live, elsewhere):
            with contextlib.suppress(docker.errors.NotFound):
                engine.api.remove_container(cid, force=True)
