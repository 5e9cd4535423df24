"""Snapshot tests of the real dashboard, fed deterministic updates (no engine, fixed clock).

First run or after a deliberate UI change: review the SVGs, then `pytest tests/snapshots --snapshot-update`.
"""

from __future__ import annotations

from datetime import timedelta

from skid_tui.engine.client import Attempt, EngineInfo
from skid_tui.engine.discovery import EngineCandidate
from skid_tui.engine.watcher import EngineStatus, ServiceUpdate
from skid_tui.ui.app import SkidApp
from skid_tui.ui.messages import EngineStatusChanged, ServiceContainersChanged
from tests.factories import NOW, GiB, container, demo_stack

SIZE = (160, 40)
SOCKET = EngineCandidate("unix:///var/run/docker.sock", "Docker Engine default socket")
INFO = EngineInfo("Docker Engine", "20.10.24", "1.41", "Debian GNU/Linux 12", 24 * GiB, 2, SOCKET)


def quiet_app(profile: str = "minimal") -> SkidApp:
    stack = demo_stack()
    return SkidApp(stack, stack.profiles[profile], lambda: [SOCKET], watch=False, clock=lambda: NOW)


def feed(app: SkidApp, *updates: EngineStatus | ServiceUpdate) -> None:
    for u in updates:
        app.post_message(EngineStatusChanged(u) if isinstance(u, EngineStatus) else ServiceContainersChanged(u))


def running_stack() -> list[EngineStatus | ServiceUpdate]:
    return [
        EngineStatus("connected", info=INFO),
        ServiceUpdate("postgres", (container("postgres", up_for=timedelta(hours=2, minutes=5)),)),
        ServiceUpdate("redis", (container("redis", up_for=timedelta(minutes=12)),)),
        ServiceUpdate("minio", (container("minio", health="starting", up_for=timedelta(seconds=4)),)),
        ServiceUpdate("api", (container("api", state="exited", exit_code=137, oom=True),)),
        ServiceUpdate("orchestrator", (container("orchestrator", state="exited", exit_code=0),)),
    ]


def test_dashboard_with_a_running_minimal_profile(snap_compare):
    async def run_before(pilot):
        feed(pilot.app, *running_stack())
        await pilot.pause()

    assert snap_compare(quiet_app(), terminal_size=SIZE, run_before=run_before)


def test_no_engine_answered(snap_compare):
    missing = EngineCandidate("unix:///var/run/docker.sock", "Docker Engine default socket")
    podman = EngineCandidate("unix:///run/user/0/podman/podman.sock", "Podman rootless socket")
    status = EngineStatus(
        "unreachable",
        attempts=(Attempt(missing, "no such socket"), Attempt(podman, "connection refused")),
        retry_interval=3.0,
    )

    async def run_before(pilot):
        feed(pilot.app, status)
        await pilot.pause()

    assert snap_compare(quiet_app(), terminal_size=SIZE, run_before=run_before)


def test_help_lists_every_key(snap_compare):
    async def run_before(pilot):
        feed(pilot.app, *running_stack())
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(quiet_app(), terminal_size=SIZE, run_before=run_before)
