"""Snapshot tests of the real dashboard, fed deterministic updates (no engine, fixed clock).

First run or after a deliberate UI change: review the SVGs, then `pytest tests/snapshots --snapshot-update`.
"""

from __future__ import annotations

from datetime import timedelta

from skid_tui.engine.client import Attempt, EngineInfo
from skid_tui.engine.discovery import EngineCandidate
from skid_tui.engine.sampler import StatsBatch
from skid_tui.engine.stats import StatsSample
from skid_tui.engine.watcher import EngineStatus, ServiceUpdate
from skid_tui.model import HostMemory, LiveModel
from skid_tui.model.selfcost import OwnCost
from skid_tui.ui.app import SkidApp
from skid_tui.ui.messages import EngineStatusChanged, ServiceContainersChanged, StatsSampled
from tests.factories import NOW, GiB, MiB, container, demo_stack

SIZE = (160, 48)
SOCKET = EngineCandidate("unix:///var/run/docker.sock", "Docker Engine default socket")
INFO = EngineInfo("Docker Engine", "20.10.24", "1.41", "Debian GNU/Linux 12", 24 * GiB, 2, SOCKET)


def quiet_app(profile: str = "minimal", host: HostMemory | None = None) -> SkidApp:
    """The real app with no engine, a fixed clock, a fixed host and no state file: deterministic."""
    stack = demo_stack()
    fixed_host = host or HostMemory(16 * GiB, 10 * GiB)
    model = LiveModel(stack, stack.profiles[profile], peaks=None, host_memory=lambda: fixed_host, clock=lambda: NOW)
    return SkidApp(stack, stack.profiles[profile], lambda: [SOCKET], watch=False, clock=lambda: NOW, model=model,
                   monotonic=lambda: 30.0, own_cost=lambda: OwnCost(0.8, 61 * MiB))


Update = EngineStatus | ServiceUpdate | StatsBatch


def feed(app: SkidApp, *updates: Update) -> None:
    for u in updates:
        if isinstance(u, EngineStatus):
            app.post_message(EngineStatusChanged(u))
        elif isinstance(u, StatsBatch):
            app.post_message(StatsSampled(u))
        else:
            app.post_message(ServiceContainersChanged(u))


def sample(service: str, mem_mib: float, cpu: float | None, at: float = 0.0, rx: float = 2048.0) -> StatsSample:
    c = container(service)
    return StatsSample(c.id, at, int(mem_mib * MiB), 512 * MiB, cpu, 0, 0, 0, 0, 4, "cgroup", rx, rx / 4)


def history(service: str, mem_mib: list[float], cpu: list[float]) -> list[StatsBatch]:
    pairs = enumerate(zip(mem_mib, cpu, strict=True))
    return [StatsBatch((sample(service, m, c, at=i),), "cgroup") for i, (m, c) in pairs]


async def settle(pilot) -> None:
    """Let layout-driven redraws (panels drawn to their width once it is known) finish before a snapshot."""
    for _ in range(3):
        await pilot.pause()
    await pilot.wait_for_scheduled_animations()


def running_stack() -> list[Update]:
    ramp = [min(1200.0, 40 + 60 * i) for i in range(24)]
    burst = [2, 2, 30, 30, 30, 2, 2, 2, 2, 2, 2, 2, 30, 30, 30, 2, 2, 2, 2, 2]
    return [
        EngineStatus("connected", info=INFO),
        ServiceUpdate("postgres", (container("postgres", up_for=timedelta(hours=2, minutes=5)),)),
        ServiceUpdate("redis", (container("redis", up_for=timedelta(minutes=12)),)),
        ServiceUpdate("minio", (container("minio", health="starting", up_for=timedelta(seconds=4)),)),
        ServiceUpdate("api", (container("api", state="exited", exit_code=137, oom=True),)),
        ServiceUpdate("orchestrator", (container("orchestrator", state="exited", exit_code=0),)),
        ServiceUpdate("binary-processor", (container("binary-processor", up_for=timedelta(minutes=1)),)),
        ServiceUpdate("llm-advisor", (container("llm-advisor", health="starting", up_for=timedelta(seconds=24)),)),
        *history("postgres", [219.5] * 20, [0.4, 0.2] * 10),
        *history("redis", [109.0] * 20, [0.3] * 20),
        *history("minio", [150, 190, 214, 214.5] + [215] * 16, [3, 2] + [0.5] * 18),
        *history("binary-processor", [59.1] * 20, burst),
        *history("llm-advisor", ramp, [12.0] * 20 + [0.1] * 4),
    ]


def test_dashboard_with_a_running_minimal_profile(snap_compare):
    async def run_before(pilot):
        await settle(pilot)
        feed(pilot.app, *running_stack())
        await settle(pilot)

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
        await settle(pilot)
        feed(pilot.app, status)
        await settle(pilot)

    assert snap_compare(quiet_app(), terminal_size=SIZE, run_before=run_before)


def test_help_lists_every_key(snap_compare):
    async def run_before(pilot):
        await settle(pilot)
        feed(pilot.app, *running_stack())
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)

    assert snap_compare(quiet_app(), terminal_size=SIZE, run_before=run_before)
