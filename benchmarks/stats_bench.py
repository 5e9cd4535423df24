"""skid's dashboard against `docker stats`, each drawing in a real terminal: CPU of the client, of the
terminal and of the engine, peak RSS, first paint, and RSS over a long run.

On the private engine it starts N demo containers (compose project `skid-bench`) and runs, round after
round and in a rotating order, phases of the same window length, each program in a tmux window of
TERM_SIZE with a client attached on a pseudo-terminal that is read as a terminal emulator would:

  idle          nothing watches the containers: the engine's own background cost
  docker-stats  `/usr/bin/docker stats <the N containers>`
  skid-cgroup   the dashboard, stats from the cgroup files
  skid-api      the dashboard, stats from the Engine API (streams for the panels in view)
  skid-agent    the dashboard, stats from the agent container (--stats agent)
  skid-still    the dashboard on the cgroup path with every container paused: nothing changes
  skid-history  the dashboard on the cgroup path writing its history database (the others write none):
                beside skid-cgroup, what keeping history costs

Each phase measures, over the same window: the client's process tree (psutil; on the agent path its
agent's process too), the terminal (the tmux server and client), the engine's processes (dockerd, its
children, and this engine's containerd-shims), and the client's peak RSS. Induced engine CPU = phase
engine CPU - median idle engine CPU. Clients are measured in steady state: the window opens once the
dashboard has painted every service with its memory (or `docker stats` has run for --warmup seconds);
startup is reported apart. A phase during which the engine restarted or a container stopped is thrown
away and run again. At the largest N a soak follows: the three paths' dashboards side by side for
--soak seconds, their RSS read every --soak-every seconds.

    DOCKER_HOST=unix:///tmp/skid-engine/docker.sock .venv/bin/python benchmarks/stats_bench.py
    make bench                       # the same, starting the private engine if needed
    make bench BENCH_ARGS=--quick    # N = 8, one round, 6 s windows, no docs/performance.md

The same file is the dashboard runner (`--run-dashboard`, started by the benchmark itself).
"""

import time

_STARTED = time.monotonic()  # the runner's start: first statement, before any heavy import

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import select  # noqa: E402
import shlex  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
from collections.abc import Callable  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
PROJECT = "skid-bench"
IMAGE = "skid-demo/base:latest"
DOCKER_CLI = "/usr/bin/docker"  # Debian's 20.10 client, the same generation as the engine
TERM_SIZE = (200, 50)  # columns, rows of the terminal every client draws in
MAIN = "w"  # the tmux session on screen (the attached client shows it)
IDLE_COMMAND = "sleep 2147483647"
# A real idle service: 8 MiB held in /dev/shm, a wake-up a second. No healthcheck: its execs cost the
# engine CPU that has nothing to do with stats.
WORKLOAD = "dd if=/dev/zero of=/dev/shm/m bs=1M count=8 2>/dev/null; while :; do sleep 1; done"
PHASES = ("idle", "docker-stats", "skid-cgroup", "skid-api", "skid-agent", "skid-still", "skid-history")
SKID_PHASES = ("skid-cgroup", "skid-api", "skid-agent")  # the three paths, with targets
SOAK_PHASES = SKID_PHASES
PHASE_STATS = {"skid-cgroup": "cgroup", "skid-api": "api", "skid-agent": "agent", "skid-still": "cgroup",
               "skid-history": "cgroup"}
LABELS = {
    "idle": "idle baseline",
    "docker-stats": "`docker stats`",
    "skid-cgroup": "skid, cgroup fast path",
    "skid-api": "skid, Engine API path",
    "skid-agent": "skid, stats agent",
    "skid-still": "skid, cgroup path, nothing changing (containers paused)",
    "skid-history": "skid, cgroup path, writing history",
}
# Total CPU as a ratio to `docker stats`, by N (the key None: every N).
TARGET_RATIO = {"skid-cgroup": {8: 0.2, 50: 0.1}, "skid-agent": {None: 0.5}, "skid-api": {None: 1.0}}
TARGET_RSS_GROWTH_MB = 5.0
TARGET_RSS_MB = 80.0
TARGET_FIRST_PAINT_S = 1.0
TARGET_HISTORY_SHARE = 0.05  # what writing history may add to the dashboard's own CPU
ATTEMPTS = 3  # runs of a phase before the benchmark gives up on it


class BenchError(Exception):
    """A setup problem worth one clear line, not a traceback."""


class PhaseInvalid(Exception):
    """Something outside the client changed during the window (engine restart, a container gone)."""


def say(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


# -- the dashboard runner (a child process per phase) --------------------------------------------------


def run_dashboard(args: argparse.Namespace) -> int:
    """Run SkidApp in the terminal it was started in (a tmux pane) until the control FIFO closes; report on
    the report FIFO (the benchmark holds both open, so neither open blocks).

    Reports: `ready` (the startup timeline, once every service is drawn with its memory), `window-end`
    (which stats path ran, how many services had numbers, the peak RSS), `exit`.
    """
    report = open(args.report, "w", buffering=1)  # noqa: SIM115 - open for the runner's whole life
    control_fd = os.open(args.control, os.O_RDONLY | os.O_NONBLOCK)

    def emit(kind: str, **data: Any) -> None:
        report.write(json.dumps({"kind": kind, **data}) + "\n")
        report.flush()

    from skid_tui.engine.discovery import engine_candidates
    from skid_tui.engine.watcher import EarlyWatch
    from skid_tui.stack import load_stack

    # As `skid` does (cli/dashboard.py): the watcher starts while Textual is imported.
    stack = load_stack([args.compose], None, project_name=PROJECT)
    early = EarlyWatch(stack.project, engine_candidates, stats=args.stats)
    from skid_tui.ui.app import SkidApp

    imported_at = time.monotonic()
    history = None
    if args.history:
        from skid_tui.model.history import HistoryRecorder, HistoryStore

        history = HistoryRecorder(HistoryStore(Path(args.history)))
    app = SkidApp(stack, stack.profiles["default"], engine_candidates, stats=args.stats, early=early,
                  history=history)
    profiler = None

    async def pilot(_pilot: Any) -> None:
        nonlocal profiler
        import asyncio

        mounted_at = time.monotonic()
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        loop.add_reader(control_fd, stop.set)  # EOF (the benchmark closed its end) = stop
        connected_at = batch_at = None
        deadline = time.monotonic() + args.paint_timeout
        while app.first_paint_at is None and time.monotonic() < deadline and not stop.is_set():
            if connected_at is None and app.model.engine.state == "connected":
                connected_at = time.monotonic()
            if batch_at is None and app.model.latest:
                batch_at = time.monotonic()
            await asyncio.sleep(0.005)
        painted = app.first_paint_at

        def since(t: float | None) -> float | None:
            return None if t is None else t - _STARTED

        emit(
            "ready",
            first_paint_at=painted,
            first_paint_s=since(painted),
            imported_s=since(imported_at),
            mounted_s=since(mounted_at),
            connected_s=since(connected_at),
            first_samples_s=since(batch_at),
            stats_source=app.model.stats_source,
        )
        # Steady state: every panel on screen has a full sparkline. Until then every tick lengthens every
        # sparkline by a cell (about 45 s at 200 columns), which is start-up, not what an open dashboard costs.
        steady_at = None
        steady_by = time.monotonic() + args.steady_timeout
        while painted is not None and not stop.is_set() and time.monotonic() < steady_by:
            if sparklines_full(app):
                steady_at = time.monotonic()
                break
            await asyncio.sleep(0.05)
        emit("steady", steady_s=since(steady_at), filled_in_s=None if steady_at is None else steady_at - painted)
        history_from = (history_thread_cpu(history), time.monotonic())
        if args.cprofile:
            # Only the event loop's thread, and only in steady state: that is where drawing happens.
            import cProfile

            # The thread's CPU clock, not the wall clock: time blocked in epoll is not cost.
            profiler = cProfile.Profile(time.thread_time_ns, 1e-9)
            profiler.enable()
        await stop.wait()
        if profiler is not None:
            profiler.disable()
        loop.remove_reader(control_fd)
        live = 0
        for service in stack.services:
            res = app.model.resources(service)
            if res.running and res.cpu_percent is not None and res.mem_bytes is not None:
                live += 1
        emit(
            "window-end",
            stats_source=app.model.stats_source,
            fallbacks=len(app.model.fallbacks),
            live_services=live,
            services=len(stack.services),
            engine_state=app.model.engine.state,
            # The process's high-water mark (all threads), as wait4 would report it at exit.
            peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            # The history recorder's own thread, per second of the steady state: its cost measured apart from
            # the noise of the side-by-side totals.
            history_cpu_per_s=None if history is None else
            (history_thread_cpu(history) - history_from[0]) / max(1e-9, time.monotonic() - history_from[1]),
        )
        app.exit()

    app.run(auto_pilot=pilot)
    if profiler is not None:
        profiler.dump_stats(args.cprofile)
    emit("exit")
    report.close()
    # The watcher's thread may still sit in a blocking read; the measurements are taken, so leave now.
    os._exit(0)


def history_thread_cpu(recorder: Any) -> float:
    """CPU seconds the recorder's thread has used (0 without one)."""
    thread = getattr(recorder, "_thread", None)
    if thread is None or thread.native_id is None:
        return 0.0
    import psutil

    for t in psutil.Process().threads():
        if t.id == thread.native_id:
            return t.user_time + t.system_time
    return 0.0


def sparklines_full(app: Any) -> bool:
    """Every running panel in view shows as many samples as its memory sparkline has cells (a short history
    is padded with spaces on the left; a reading is never drawn as a space)."""
    from skid_tui.ui.widgets.service_grid import ServiceGrid

    panels = app.query_one(ServiceGrid).visible_panels()
    for panel in panels:
        r = panel.view.resources
        if r is not None and r.running and (not r.mem_spark or r.mem_spark.startswith(" ")):
            return False
    return bool(panels)


# -- engine and machine ----------------------------------------------------------------------------------


def socket_path() -> str:
    host = os.environ.get("DOCKER_HOST", "")
    if not host.startswith("unix://"):
        raise BenchError(
            f"DOCKER_HOST must name the private engine's unix socket (got {host or 'nothing'}); "
            "run `make bench`, or `scripts/engine.sh up && eval $(scripts/engine.sh env)` first"
        )
    return host[len("unix://") :]


def find_dockerd(sock: str) -> Any:
    import psutil

    for p in psutil.process_iter(["name", "cmdline"]):
        cmd = p.info["cmdline"] or []
        if p.info["name"] == "dockerd" and any(sock in arg for arg in cmd):
            return p
    raise BenchError(
        f"no dockerd on this machine serves {sock}: the benchmark measures the engine's processes, so it "
        "needs the private engine on this machine (scripts/engine.sh up), not a remote or Docker Desktop one"
    )


def exec_root(cmdline: list[str]) -> str:
    for i, arg in enumerate(cmdline):
        if arg == "--exec-root" and i + 1 < len(cmdline):
            return cmdline[i + 1]
        if arg.startswith("--exec-root="):
            return arg.split("=", 1)[1]
    return "/var/run/docker"


Snapshot = tuple[tuple[int, float], dict[tuple[int, float], float]]


class EngineMeter:
    """CPU time of this engine's processes: dockerd, its descendants, and the shims of its containerd.

    Shims outlive their parent (they are reparented to init), so they are found by the containerd socket
    they name. The containers' own processes (a shim's children) are not the engine and are left out.
    """

    def __init__(self, sock: str) -> None:
        self.sock = sock
        self.dockerd = find_dockerd(sock)

    def current(self) -> Any:
        """The engine's dockerd, found again when it was restarted."""
        if not self.dockerd.is_running():
            self.dockerd = find_dockerd(self.sock)
        return self.dockerd

    def processes(self) -> list[Any]:
        import psutil

        dockerd = self.current()
        shim_address = os.path.join(exec_root(dockerd.cmdline()), "containerd", "containerd.sock")
        found: dict[int, Any] = {}

        def walk(p: Any) -> None:
            found[p.pid] = p
            with contextlib.suppress(psutil.Error):
                if p.name().startswith("containerd-shim"):
                    return  # below a shim: the container's processes
                for child in p.children():
                    walk(child)

        walk(dockerd)
        for p in psutil.process_iter(["name", "cmdline"]):
            if (p.info["name"] or "").startswith("containerd-shim") and shim_address in (p.info["cmdline"] or []):
                found[p.pid] = p
        return list(found.values())

    def snapshot(self) -> Snapshot:
        import psutil

        out: dict[tuple[int, float], float] = {}
        for p in self.processes():
            with contextlib.suppress(psutil.Error), p.oneshot():
                t = p.cpu_times()
                out[(p.pid, p.create_time())] = t.user + t.system
        return (self.dockerd.pid, self.dockerd.create_time()), out

    @staticmethod
    def delta(start: Snapshot, end: Snapshot) -> float:
        if start[0] != end[0]:
            raise PhaseInvalid("the engine restarted during the window")
        # A process born during the window counts whole; one that died is lost (none do, in steady state).
        return sum(v - start[1].get(k, 0.0) for k, v in end[1].items())


def host_busy() -> float:
    """CPU seconds the whole machine was busy so far (to see what else ran during a window)."""
    import psutil

    t = psutil.cpu_times()
    return t.user + t.nice + t.system + t.irq + t.softirq + getattr(t, "steal", 0.0)


def machine_info(api: Any) -> dict[str, str]:
    import psutil
    import textual

    model = platform.processor() or "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    version = api.version()
    info = api.info()
    commit = "?"
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
        changed = [line[3:] for line in dirty.splitlines() if line[3:].startswith("skid_tui/")]
        if changed:
            commit += f" with uncommitted changes to {', '.join(changed)}"
        elif dirty:
            commit += " (uncommitted changes outside skid_tui/)"
    return {
        "cpu": model,
        "cores": str(os.cpu_count()),
        "memory": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "os": _os_release(),
        "kernel": f"{platform.system()} {platform.release()}",
        "docker": f"Docker Engine {version.get('Version')} (API {version.get('ApiVersion')}), "
                  f"storage {info.get('Driver')}, cgroup driver {info.get('CgroupDriver')}; "
                  f"client `{DOCKER_CLI}` {_cli_version()}",
        "cgroup": f"v{info.get('CgroupVersion') or '1'}",
        "python": platform.python_version(),
        "textual": textual.__version__,
        "skid": commit,
    }


def _cli_version() -> str:
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        return subprocess.run([DOCKER_CLI, "version", "--format", "{{.Client.Version}}"], capture_output=True,
                              text=True, check=True).stdout.strip()
    return "?"


def _os_release() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    return platform.platform()


def other_containers(api: Any) -> str:
    """What else runs on the engine (it runs through every phase, the baseline included)."""
    others = [c for c in api.containers() if c["Labels"].get("com.docker.compose.project") != PROJECT]
    if not others:
        return "none"
    health = sum(1 for c in others if "health" in (c.get("Status") or ""))
    return f"{len(others)} ({health} with healthchecks)"


# -- the containers ------------------------------------------------------------------------------------


def service_name(i: int) -> str:
    return f"svc-{i:02d}"


def container_name(i: int) -> str:
    return f"{PROJECT}-{service_name(i)}-1"


def remove_bench_containers(api: Any) -> int:
    import docker.errors

    def remove(cid: str) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            api.remove_container(cid, force=True)

    ids = [c["Id"] for c in api.containers(all=True, filters={"label": f"com.docker.compose.project={PROJECT}"})]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(remove, ids))
    return len(ids)


def running_bench_containers(api: Any) -> set[str]:
    found = api.containers(filters={"label": f"com.docker.compose.project={PROJECT}", "status": "running"})
    return {c["Names"][0].lstrip("/") for c in found}


def start_containers(api: Any, n: int) -> list[str]:
    """n running containers labelled as compose would label them; returns their names."""

    def one(i: int) -> str:
        svc, name = service_name(i), container_name(i)
        c = api.create_container(
            IMAGE,
            command=["sh", "-c", WORKLOAD],
            name=name,
            labels={
                "com.docker.compose.project": PROJECT,
                "com.docker.compose.service": svc,
                "com.docker.compose.container-number": "1",
                "com.docker.compose.oneoff": "False",
            },
            host_config=api.create_host_config(mem_limit="64m", shm_size="16m"),
            stop_signal="SIGKILL",
        )
        api.start(c["Id"])
        return name

    with ThreadPoolExecutor(max_workers=4) as pool:
        names = list(pool.map(one, range(n)))
    missing = sorted(set(names) - running_bench_containers(api))
    if missing:
        raise BenchError(f"{len(missing)} benchmark container(s) did not keep running: {', '.join(missing[:5])}")
    return names


def write_compose(path: Path, n: int) -> None:
    lines = [f"name: {PROJECT}", "services:"]
    for i in range(n):
        lines += [
            f"  {service_name(i)}:",
            f"    image: {IMAGE}",
            "    deploy:",
            "      resources:",
            "        reservations: {memory: 16M}",
            "        limits: {memory: 64M}",
        ]
    path.write_text("\n".join(lines) + "\n")


# -- phases ----------------------------------------------------------------------------------------------


@dataclass
class Result:
    n: int
    round: int
    phase: str
    window_s: float
    client_cpu_s: float | None = None
    engine_cpu_s: float = 0.0
    other_cpu_s: float = 0.0  # the rest of the machine: what else ran during the window
    term_cpu_s: float = 0.0  # the terminal: tmux server and client
    peak_rss_mb: float | None = None
    startup_cpu_s: float | None = None  # the client's CPU from its start to the window's
    fill_s: float | None = None  # from the first paint until every sparkline on screen was full
    fill_cpu_s: float | None = None  # the client's CPU over that time, per window length
    timeline: dict[str, float | None] = field(default_factory=dict)  # runner: seconds since its start
    first_paint_spawn_s: float | None = None  # from the benchmark's spawn of the process
    stats_source: str | None = None
    live_services: str | None = None
    history_cpu_s: float | None = None  # the history recorder's thread, per window (skid-history only)
    attempts: int = 1
    notes: list[str] = field(default_factory=list)
    # filled in after all rounds
    induced_s: float | None = None
    total_s: float | None = None
    ratio: float | None = None

    @property
    def first_paint_s(self) -> float | None:
        return self.timeline.get("first_paint_s")


@dataclass
class Window:
    client: float | None
    engine: float
    other: float
    term: float


@dataclass
class Soak:
    """One path's dashboard over the soak: its RSS (process tree, MB) by seconds since it painted."""

    phase: str
    n: int
    rss: list[tuple[float, float | None]] = field(default_factory=list)
    cpu: list[tuple[float, float]] = field(default_factory=list)  # the client's CPU-s so far, by seconds
    peak_rss_mb: float | None = None
    live: str = "?"
    source: str | None = None

    def growth(self, after: float = 60.0) -> float | None:
        """RSS at the end minus RSS at `after` seconds (start-up's allocations are done by then)."""
        vals = [(t, v) for t, v in self.rss if v is not None]
        base = next((v for t, v in vals if t >= after), None)
        return None if base is None or not vals else vals[-1][1] - base

    def steady_cpu(self, window: float, after: float = 120.0) -> float | None:
        """The client's CPU-s per `window` seconds from `after` seconds to the end: past start-up and the
        first minute, in which every sparkline still grows a cell a second."""
        start = next(((t, c) for t, c in self.cpu if t >= after), None)
        if start is None or self.cpu[-1][0] <= start[0]:
            return None
        return (self.cpu[-1][1] - start[1]) / (self.cpu[-1][0] - start[0]) * window


class Bench:
    def __init__(self, args: argparse.Namespace, api: Any, meter: EngineMeter, workdir: Path,
                 term: "Terminal") -> None:
        self.args = args
        self.api = api
        self.meter = meter
        self.workdir = workdir
        self.term = term
        self.names: list[str] = []

    # -- the containers, kept running ------------------------------------------------------------------

    def ensure_containers(self, n: int) -> list[str]:
        """The n benchmark containers, running; started again when the engine lost them (a restart)."""
        expected = [container_name(i) for i in range(n)]
        try:
            if self.names == expected and running_bench_containers(self.api) == set(expected):
                return self.names
        except Exception as exc:  # the engine is restarting: wait for it below
            say(f"the engine does not answer ({type(exc).__name__}); waiting for it")
        self.wait_for_engine()
        if self.names:
            say(f"N = {n}: the containers are gone (was the engine restarted?); starting them again")
        remove_bench_containers(self.api)
        self.names = start_containers(self.api, n)
        time.sleep(3.0)  # the containers' dd is done and the engine is quiet again
        return self.names

    def wait_for_engine(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.api.ping()
                self.meter.current()
                return
            except Exception as exc:
                if time.monotonic() > deadline:
                    raise BenchError(f"the engine has not answered for {timeout:g} s: {exc}") from exc
                time.sleep(1.0)

    # -- measuring ---------------------------------------------------------------------------------------

    def measure_window(self, client: "Client | None") -> Window:
        """CPU over one window: the client's process tree (and its agent), the terminal (tmux), the engine."""
        c0, t0, e0, h0 = client.cpu() if client else None, self.term.cpu(), self.meter.snapshot(), host_busy()
        time.sleep(self.args.window)
        c1, t1, e1, h1 = client.cpu() if client else None, self.term.cpu(), self.meter.snapshot(), host_busy()
        engine = EngineMeter.delta(e0, e1)
        cpu = None if c0 is None or c1 is None else c1 - c0
        term = t1 - t0
        return Window(cpu, engine, h1 - h0 - engine - (cpu or 0.0) - term, term)

    def run_phase(self, phase: str, n: int, rnd: int) -> Result:
        for attempt in range(1, ATTEMPTS + 1):
            names = self.ensure_containers(n)
            res = Result(n=n, round=rnd, phase=phase, window_s=self.args.window, attempts=attempt)
            paused = False
            try:
                if phase == "idle":
                    time.sleep(self.args.warmup)
                    w = self.measure_window(None)
                    res.engine_cpu_s, res.other_cpu_s, res.term_cpu_s = w.engine, w.other, w.term
                elif phase == "docker-stats":
                    self.run_docker_stats(res, names)
                else:
                    if phase == "skid-still":
                        # Nothing changes: every container frozen, so every reading is the last one again.
                        paused = True
                        for name in names:
                            self.api.pause(name)
                    self.run_skid(res, stats=PHASE_STATS[phase])
                if paused:
                    paused = False
                    for name in names:
                        self.api.unpause(name)
                gone = set(names) - running_bench_containers(self.api)
                if gone:
                    raise PhaseInvalid(f"{len(gone)} container(s) stopped during the window")
            except PhaseInvalid as exc:
                say(f"N = {n} round {rnd} {phase}: thrown away ({exc}); running it again")
                self.stop_clients()
                self._unpause(names, paused)
                time.sleep(self.args.cooldown)
                continue
            except Exception as exc:
                if isinstance(exc, BenchError):
                    raise
                # The engine went away mid-phase (connection refused...): the same as a restart.
                say(f"N = {n} round {rnd} {phase}: {type(exc).__name__}: {exc}; running it again")
                self.stop_clients()
                self._unpause(names, paused)
                time.sleep(self.args.cooldown)
                continue
            time.sleep(self.args.cooldown)  # streams close and the engine settles before the next phase
            return res
        raise BenchError(f"N = {n} round {rnd} {phase}: no clean run in {ATTEMPTS} attempts (is something "
                         "restarting the engine or removing skid-bench containers?)")

    def _unpause(self, names: list[str], paused: bool) -> None:
        if paused:
            for name in names:
                with contextlib.suppress(Exception):
                    self.api.unpause(name)

    def stop_clients(self) -> None:
        """End whatever runs in the terminal's windows."""
        self.term.clear()

    def run_docker_stats(self, res: Result, names: list[str]) -> None:
        spawned = time.monotonic()
        client = self.term.start(MAIN, [DOCKER_CLI, "stats", *names])
        # Its first complete paint: every container's row has a memory figure (up to the rows that fit).
        shown = names[: TERM_SIZE[1] - 2]
        deadline = spawned + self.args.paint_timeout
        while time.monotonic() < deadline:
            lines = self.term.capture(MAIN).splitlines()
            if all(any(name in line and "iB /" in line for line in lines) for name in shown):
                res.first_paint_spawn_s = time.monotonic() - spawned
                break
            if not client.alive():
                raise PhaseInvalid(f"docker stats exited: {self.term.capture(MAIN).strip()[-300:]}")
            time.sleep(0.02)
        time.sleep(max(0.0, spawned + self.args.warmup - time.monotonic()))
        res.startup_cpu_s = client.cpu()
        w = self.measure_window(client)
        res.client_cpu_s, res.engine_cpu_s, res.other_cpu_s, res.term_cpu_s = w.client, w.engine, w.other, w.term
        res.peak_rss_mb = client.peak_rss_mb()
        self.term.clear()

    def spawn_dashboard(self, window: str, compose: Path, stats: str, *, cprofile: Path | None = None,
                        tag: str = "skid", history: Path | None = None) -> "Dashboard":
        report = self.workdir / f"{tag}-{window}.report"
        control = self.workdir / f"{tag}-{window}.control"
        for fifo in (report, control):
            with contextlib.suppress(FileNotFoundError):
                fifo.unlink()
            os.mkfifo(fifo)
        # Both ends held here, read-write: neither of the runner's opens blocks, and closing control is
        # the runner's signal to stop.
        report_fd = os.open(report, os.O_RDWR | os.O_NONBLOCK)
        control_fd = os.open(control, os.O_RDWR)
        err_path = self.workdir / f"{tag}-{window}.err"
        err_path.unlink(missing_ok=True)
        argv = ["env", "-u", "TEXTUAL", f"XDG_STATE_HOME={self.workdir / 'state'}",  # peaks out of the user's file
                sys.executable, str(Path(__file__).resolve()), "--run-dashboard", "--compose", str(compose),
                "--stats", stats, "--report", str(report), "--control", str(control), "--errors", str(err_path),
                "--paint-timeout", str(self.args.paint_timeout), "--steady-timeout", str(self.args.steady_timeout)]
        if cprofile is not None:
            argv += ["--cprofile", str(cprofile)]
        if history is not None:
            argv += ["--history", str(history)]
        spawned_at = time.monotonic()
        client = self.term.start(window, argv)  # Textual draws on stderr: nothing redirected
        return Dashboard(client, spawned_at, report_fd=report_fd, control_fd=control_fd, err_path=err_path,
                         screen=lambda: self.term.capture(window))

    def run_skid(self, res: Result, *, stats: str) -> None:
        # One database for every history phase of a run: the later ones write into a filled one, as a user's does.
        history = self.workdir / "history.sqlite3" if res.phase == "skid-history" else None
        d = self.spawn_dashboard(MAIN, self.workdir / f"compose-{res.n}.yml", stats, tag=res.phase, history=history)
        try:
            ready = d.read(self.args.paint_timeout + 30)
            if ready is None or ready.get("kind") != "ready":
                raise PhaseInvalid(f"the dashboard did not start: {d.why()}")
            res.timeline = {k: v for k, v in ready.items() if k.endswith("_s")}
            if ready.get("first_paint_at") is None:
                raise PhaseInvalid(f"no complete paint within {self.args.paint_timeout:g} s "
                                   f"(stats {ready.get('stats_source')})")
            res.first_paint_spawn_s = ready["first_paint_at"] - d.spawned_at
            painted_cpu = d.client.cpu()
            steady = d.read(self.args.steady_timeout + 30)
            if steady is None or steady.get("kind") != "steady" or steady.get("filled_in_s") is None:
                raise PhaseInvalid(f"the sparklines did not fill within {self.args.steady_timeout:g} s: {d.why()}")
            res.fill_s = steady["filled_in_s"]
            res.fill_cpu_s = (d.client.cpu() - painted_cpu) * self.args.window / res.fill_s if res.fill_s else None
            time.sleep(self.args.settle)
            if stats == "agent":
                d.client.agents = agent_processes()
                if not d.client.agents:
                    raise PhaseInvalid("no stats agent process found on this machine")
            res.startup_cpu_s = d.client.cpu()
            w = self.measure_window(d.client)
            res.client_cpu_s, res.engine_cpu_s, res.other_cpu_s, res.term_cpu_s = (w.client, w.engine, w.other,
                                                                                   w.term)
            end = d.stop()
            if end is None or end.get("kind") != "window-end":
                raise PhaseInvalid(f"the dashboard did not report its window: {d.why()}")
            res.stats_source = end["stats_source"]
            res.live_services = f"{end['live_services']}/{end['services']}"
            res.peak_rss_mb = end.get("peak_rss_mb")
            if end.get("history_cpu_per_s") is not None:
                res.history_cpu_s = end["history_cpu_per_s"] * self.args.window
            if end["stats_source"] != stats:
                raise PhaseInvalid(f"asked for the {stats} path, the dashboard ran on {end['stats_source']}")
            if end["live_services"] != end["services"]:
                raise PhaseInvalid(f"only {res.live_services} services had numbers at the end")
            if end["fallbacks"]:
                res.notes.append(f"{end['fallbacks']} container(s) fell back to another path")
            if d.read(15) is None:
                res.notes.append(f"the runner did not say it exited: {d.why()}")
        finally:
            d.close()
            self.term.clear()

    def soak(self, n: int) -> list[Soak]:
        """Each path's dashboard for --soak seconds side by side, its RSS every --soak-every seconds."""
        self.ensure_containers(n)
        dashboards = {}
        for i, phase in enumerate(SOAK_PHASES):
            window = MAIN if i == 0 else f"soak{i}"
            dashboards[phase] = self.spawn_dashboard(window, self.workdir / f"compose-{n}.yml", PHASE_STATS[phase],
                                                     tag="soak")
        soaks = []
        try:
            for phase, d in dashboards.items():
                ready = d.read(self.args.paint_timeout + 30)
                if ready is None or ready.get("first_paint_at") is None:
                    raise BenchError(f"soak: the {phase} dashboard did not paint: {d.why()}")
                soaks.append(Soak(phase, n))
            began = time.monotonic()
            while True:
                t = time.monotonic() - began
                for s, d in zip(soaks, dashboards.values(), strict=True):
                    s.rss.append((t, d.client.rss_mb()))
                    if not d.client.agents and s.phase == "skid-agent":
                        d.client.agents = agent_processes()  # (every agent on the machine: only this one runs)
                    s.cpu.append((t, d.client.cpu()))
                if t >= self.args.soak:
                    break
                time.sleep(min(self.args.soak_every, self.args.soak - t))
            for s, d in zip(soaks, dashboards.values(), strict=True):
                end = d.stop()
                s.peak_rss_mb = end.get("peak_rss_mb") if end else None
                s.live = f"{end['live_services']}/{end['services']}" if end else "?"
                s.source = end.get("stats_source") if end else None
        finally:
            for d in dashboards.values():
                d.close()
            self.term.clear()
        return soaks

    def profile(self, n: int) -> Path | None:
        """One more dashboard run (cgroup path) under cProfile, kept out of the tables: where its CPU goes."""
        self.ensure_containers(n)
        out = self.workdir / f"profile-n{n}.pstats"
        d = self.spawn_dashboard(MAIN, self.workdir / f"compose-{n}.yml", "cgroup", cprofile=out, tag="profile")
        try:
            ready = d.read(self.args.paint_timeout + 30)
            if ready is None or ready.get("first_paint_at") is None:
                say(f"profile run: the dashboard did not paint: {d.why()}")
                return None
            d.read(self.args.steady_timeout + 30)  # the profiler starts once the sparklines are full
            time.sleep(self.args.window)
            d.stop()
            d.read(15)  # "exit": the profile is written
        finally:
            d.close()
            self.term.clear()
        return out if out.exists() else None


def agent_processes() -> list[Any]:
    """The stats agents' awk processes (in their containers, seen from the host)."""
    import psutil

    return [p for p in psutil.process_iter(["name", "cmdline"])
            if p.info["name"] == "awk" and any("/host/cgroup" in a for a in (p.info["cmdline"] or []))]


def _cpu(processes: list[Any]) -> float:
    import psutil

    total = 0.0
    for p in processes:
        with contextlib.suppress(psutil.Error):
            t = p.cpu_times()
            total += t.user + t.system
    return total


class Client:
    """A program in one of the terminal's windows: its process tree (and, on the agent path, the agent)."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.proc = psutil.Process(pid)
        self.agents: list[Any] = []

    def tree(self) -> list[Any]:
        import psutil

        with contextlib.suppress(psutil.Error):
            return [self.proc, *self.proc.children(recursive=True)]
        return []

    def cpu(self) -> float:
        return _cpu(self.tree() + self.agents)

    def alive(self) -> bool:
        import psutil

        with contextlib.suppress(psutil.Error):
            return self.proc.is_running() and self.proc.status() != psutil.STATUS_ZOMBIE
        return False

    def rss_mb(self) -> float | None:
        import psutil

        with contextlib.suppress(psutil.Error):
            return sum(p.memory_info().rss for p in self.tree()) / 2**20
        return None

    def peak_rss_mb(self) -> float | None:
        """The process's high-water mark (VmHWM), read before it ends."""
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return None


class Terminal:
    """A tmux server of the benchmark's own, at TERM_SIZE, with a client attached on a pseudo-terminal that is
    read as a terminal emulator would: each phase's program draws into a real terminal, and what drawing
    costs the terminal (the tmux server and client) is measured with it."""

    def __init__(self, workdir: Path) -> None:
        import fcntl
        import pty as ptymod
        import struct
        import termios

        self.tmux = ["tmux", "-L", f"skid-bench-{os.getpid()}", "-f", "/dev/null"]
        w, h = TERM_SIZE
        self._run("new-session", "-d", "-s", "keep", "-x", str(w), "-y", str(h), IDLE_COMMAND)
        # (window-size manual would pin the size, but makes tmux 3.3a crash on the next new-session.)
        for option in (("status", "off"), ("default-terminal", "tmux-256color"), ("remain-on-exit", "on"),
                       ("default-size", f"{w}x{h}")):
            self._run("set-option", "-g", *option)
        self._run("new-session", "-d", "-s", MAIN, "-x", str(w), "-y", str(h), IDLE_COMMAND)
        self.server = Client(int(self._run("display-message", "-p", "#{pid}").strip()))
        master, slave = ptymod.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", h, w, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor"}
        self.client_proc = subprocess.Popen([*self.tmux, "attach", "-t", MAIN], stdin=slave, stdout=slave,
                                            stderr=slave, env=env, start_new_session=True)
        os.close(slave)
        self.client = Client(self.client_proc.pid)
        self.master = master
        self.drained = 0
        threading.Thread(target=self._drain, name="terminal", daemon=True).start()
        self.windows: set[str] = {MAIN}

    def _run(self, *args: str) -> str:
        return subprocess.run([*self.tmux, *args], check=True, capture_output=True, text=True).stdout

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.drained += len(chunk)

    def cpu(self) -> float:
        """The terminal's CPU: the tmux server and the attached client."""
        return _cpu([self.server.proc, self.client.proc])

    def start(self, window: str, argv: list[str]) -> Client:
        """Run argv in the window (a session of its own, MAIN being the one on screen), killing what ran."""
        if window not in self.windows:
            w, h = TERM_SIZE
            self._run("new-session", "-d", "-s", window, "-x", str(w), "-y", str(h), IDLE_COMMAND)
            self.windows.add(window)
        command = "exec " + shlex.join(argv)
        self._run("respawn-pane", "-k", "-t", window, command)
        return Client(int(self._run("display-message", "-p", "-t", window, "#{pane_pid}").strip()))

    def capture(self, window: str) -> str:
        return self._run("capture-pane", "-p", "-t", window)

    def clear(self) -> None:
        """Every window back to an idle program (what ran there is killed)."""
        for window in self.windows:
            with contextlib.suppress(subprocess.CalledProcessError):
                self._run("respawn-pane", "-k", "-t", window, IDLE_COMMAND)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._run("kill-server")
        with contextlib.suppress(Exception):
            self.client_proc.wait(5)
        with contextlib.suppress(OSError):
            os.close(self.master)


class Dashboard:
    """A runner in a terminal window: its report FIFO and its control FIFO."""

    def __init__(self, client: Client, spawned_at: float, *, report_fd: int, control_fd: int,
                 err_path: Path, screen: Callable[[], str]) -> None:
        self.client = client
        self.screen = screen
        self.spawned_at = spawned_at
        self.report_fd = report_fd
        self.control_fd = control_fd
        self.err_path = err_path
        self.buf = b""

    def read(self, timeout: float) -> dict[str, Any] | None:
        """The runner's next report line; None on timeout, or when the runner has ended."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.report_fd], [], [], min(left, 0.5))
            if ready:
                with contextlib.suppress(BlockingIOError):
                    self.buf += os.read(self.report_fd, 65536)
            elif not self.client.alive():
                return None
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def why(self) -> str:
        """What the runner said before it failed: its traceback, else what its window shows."""
        text = _tail(self.err_path)
        if text != "(no output)":
            return text
        with contextlib.suppress(Exception):
            return self.screen().strip()[-600:] or "(an empty screen)"
        return "(no output)"

    def stop(self) -> dict[str, Any] | None:
        """Tell the runner to end its window; its window-end report (a "steady" one before it is skipped)."""
        if self.control_fd >= 0:
            os.close(self.control_fd)
            self.control_fd = -1
        report = self.read(15)
        while report is not None and report.get("kind") == "steady":
            report = self.read(15)
        return report

    def close(self) -> None:
        for fd in (self.control_fd, self.report_fd):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.control_fd = self.report_fd = -1


def _tail(path: Path, limit: int = 600) -> str:
    with contextlib.suppress(OSError):
        return path.read_text().strip()[-limit:] or "(no output)"
    return "(no output)"


# -- medians, tables, the report -----------------------------------------------------------------------------


def median(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def finish(results: list[Result]) -> None:
    """Induced engine CPU against the median idle of the same N; ratios within each round."""
    for n in sorted({r.n for r in results}):
        rows = [r for r in results if r.n == n]
        idle = median([r.engine_cpu_s for r in rows if r.phase == "idle"]) or 0.0
        for r in rows:
            if r.phase == "idle":
                continue
            r.induced_s = r.engine_cpu_s - idle
            # Noise can make induced negative; a client is never credited with saving the engine work.
            r.total_s = (r.client_cpu_s or 0.0) + r.term_cpu_s + max(r.induced_s, 0.0)
        for r in rows:
            ref = next((d for d in rows if d.phase == "docker-stats" and d.round == r.round), None)
            if r.total_s is not None and ref is not None and ref.total_s:
                r.ratio = r.total_s / ref.total_s


def fmt(v: float | None, digits: int = 2, suffix: str = "") -> str:
    return "-" if v is None else f"{v:.{digits}f}{suffix}"


def summary(results: list[Result], n: int, phases: tuple[str, ...]) -> list[dict[str, Any]]:
    out = []
    for phase in phases:
        rows = [r for r in results if r.n == n and r.phase == phase]
        if not rows:
            continue
        out.append({
            "phase": phase,
            "client": median([r.client_cpu_s for r in rows]),
            "term": median([r.term_cpu_s for r in rows]),
            "engine": median([r.engine_cpu_s for r in rows]),
            "engine_min": min(r.engine_cpu_s for r in rows),
            "engine_max": max(r.engine_cpu_s for r in rows),
            "induced": median([r.induced_s for r in rows]),
            "total": median([r.total_s for r in rows]),
            "rss": median([r.peak_rss_mb for r in rows]),
            "ratio": median([r.ratio for r in rows]),
            "other": median([r.other_cpu_s for r in rows]),
            "sources": sorted({r.stats_source for r in rows if r.stats_source}),
            "rounds": len(rows),
        })
    return out


def render_table(rows: list[dict[str, Any]], window: float) -> list[str]:
    lines = [
        "| | client CPU s | terminal (tmux) CPU s | engine CPU s, induced | total CPU s | % of a core | peak RSS MB "
        "| ratio to docker stats |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in rows:
        label = LABELS[s["phase"]]
        if s["phase"] == "idle":
            lines.append(f"| {label} | - | {fmt(s['term'])} | 0 (the engine alone: {fmt(s['engine'])}, "
                         f"rounds {fmt(s['engine_min'])}-{fmt(s['engine_max'])}) | - | - | - | - |")
            continue
        if s["phase"].startswith("skid"):
            label += f" (ran: {', '.join(s['sources']) or '?'})"
        pct = None if s["total"] is None else s["total"] / window * 100
        lines.append(
            f"| {label} | {fmt(s['client'])} | {fmt(s['term'])} | {fmt(s['induced'])} | {fmt(s['total'])} "
            f"| {fmt(pct, 1, '%')} "
            f"| {fmt(s['rss'], 1)} | {fmt(s['ratio'], 2, 'x')} |"
        )
    return lines


def raw_table(results: list[Result]) -> list[str]:
    lines = [
        "| N | round | phase | client CPU s | terminal CPU s | engine CPU s | induced s | total s | ratio "
        "| peak RSS MB | startup CPU s | first paint s | stats | live | rest of machine CPU s | attempt | notes |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.n} | {r.round} | {r.phase} | {fmt(r.client_cpu_s)} | {fmt(r.term_cpu_s)} | {fmt(r.engine_cpu_s)} "
            f"| {fmt(r.induced_s)} "
            f"| {fmt(r.total_s)} | {fmt(r.ratio, 2, 'x')} | {fmt(r.peak_rss_mb, 1)} | {fmt(r.startup_cpu_s)} "
            f"| {fmt(r.first_paint_s)} | {r.stats_source or '-'} | {r.live_services or '-'} "
            f"| {fmt(r.other_cpu_s)} | {r.attempts} | {'; '.join(r.notes)} |"
        )
    return lines


def startup_table(results: list[Result], n: int) -> list[str]:
    keys = [("imported_s", "imports done"), ("mounted_s", "app mounted"), ("connected_s", "engine connected"),
            ("first_samples_s", "first samples"), ("first_paint_s", "first complete paint")]
    lines = ["| seconds since the runner's first statement, medians | "
             + " | ".join(label for _, label in keys) + " | paint, from the spawn | sparklines full, s after "
             "the paint | client CPU s per window while they fill | runs |",
             "|---|" + "---:|" * (len(keys) + 4)]
    for phase in ("docker-stats", *SKID_PHASES):
        rows = [r for r in results if r.n == n and r.phase == phase and r.first_paint_spawn_s is not None]
        if rows:
            cells = [fmt(median([r.timeline.get(k) for r in rows])) for k, _ in keys]
            lines.append(f"| {LABELS[phase]} | " + " | ".join(cells)
                         + f" | {fmt(median([r.first_paint_spawn_s for r in rows]))} "
                         + f"| {fmt(median([r.fill_s for r in rows]), 1)} "
                         + f"| {fmt(median([r.fill_cpu_s for r in rows]))} "
                         + f"| {len(rows)} |")
    return lines


def window_of(results: list[Result]) -> float:
    return results[0].window_s if results else 0.0


def ratio_target(phase: str, n: int) -> float | None:
    limits = TARGET_RATIO.get(phase, {})
    return limits.get(n, limits.get(None))


def targets(results: list[Result], ns: list[int], phases: tuple[str, ...], soaks: list[Soak]) -> list[str]:
    lines = []
    for phase in TARGET_RATIO:
        for n in ns:
            limit = ratio_target(phase, n)
            s = next((x for x in summary(results, n, phases) if x["phase"] == phase), None)
            if limit is None or s is None or s["ratio"] is None:
                continue
            ok = s["ratio"] <= limit
            ratios = [r.ratio for r in results if r.n == n and r.phase == phase and r.ratio is not None]
            lines.append(f"- Total CPU, {LABELS[phase]}, N = {n}: **{s['ratio']:.2f}x** docker stats, median "
                         f"(rounds {min(ratios):.2f}-{max(ratios):.2f}x; target at most {limit:.1f}x): "
                         f"**{'met' if ok else 'not met'}**"
                         + ("" if ok else f", {(s['ratio'] / limit - 1) * 100:.0f}% over")
                         + (f"; {sum(x > limit for x in ratios)} of {len(ratios)} rounds over"
                            if ok and max(ratios) > limit else ""))
    for n in ns:
        base = next((x for x in summary(results, n, phases) if x["phase"] == "skid-cgroup"), None)
        hist = next((x for x in summary(results, n, phases) if x["phase"] == "skid-history"), None)
        if base and hist and base["client"] and hist["client"] is not None:
            extra = hist["client"] - base["client"]
            share = extra / base["client"]
            ok = share < TARGET_HISTORY_SHARE
            own = median([r.history_cpu_s for r in results if r.n == n and r.phase == "skid-history"])
            thread = share_text = ""
            if own is not None:
                thread_share = own / base["client"]
                ok = thread_share < TARGET_HISTORY_SHARE
                thread = (f"; the recorder's own thread, measured in the process: **{own:.4f} CPU-s** per window, "
                          f"**{thread_share:.1%}** of the dashboard's own")
                share_text = " (decided by the thread's own figure: the totals' difference is within their noise)"
            lines.append(f"- Writing history, N = {n}: {extra:+.3f} CPU-s per {window_of(results):g} s window in "
                         f"the totals ({share:+.1%} of the dashboard's own {base['client']:.3f} CPU-s, medians side "
                         f"by side){thread}; target under {TARGET_HISTORY_SHARE:.0%}{share_text}: "
                         f"**{'met' if ok else 'not met'}**")
    small, big = min(ns), max(ns)
    for phase in SKID_PHASES:
        rows = [r for r in results if r.n == small and r.phase == phase and r.first_paint_spawn_s is not None]
        if rows:
            med = median([r.first_paint_spawn_s for r in rows])
            ok = med <= TARGET_FIRST_PAINT_S
            lines.append(f"- First complete paint, {LABELS[phase]}, N = {small}: **{med:.2f} s** median from the "
                         f"spawn (interpreter start included; {max(r.first_paint_spawn_s for r in rows):.2f} s at "
                         f"most) (target at most {TARGET_FIRST_PAINT_S:.1f} s): **{'met' if ok else 'not met'}**"
                         + ("" if ok else f", {med - TARGET_FIRST_PAINT_S:.2f} s over"))
    for phase in SKID_PHASES:
        rows = [r for r in results if r.n == big and r.phase == phase and r.peak_rss_mb is not None]
        soak = next((x for x in soaks if x.phase == phase and x.peak_rss_mb is not None), None)
        peaks = [r.peak_rss_mb for r in rows] + ([soak.peak_rss_mb] if soak else [])
        if peaks:
            peak = max(peaks)
            ok = peak <= TARGET_RSS_MB
            lines.append(f"- Peak RSS, {LABELS[phase]}, N = {big}: **{peak:.1f} MB** at most over "
                         f"{len(peaks)} run(s){', the soak included' if soak else ''} "
                         f"(target at most {TARGET_RSS_MB:.0f} MB): **{'met' if ok else 'not met'}**")
    for soak in soaks:
        growth = soak.growth()
        if growth is None:
            continue
        ok = growth < TARGET_RSS_GROWTH_MB
        minutes = soak.rss[-1][0] / 60
        lines.append(f"- RSS growth, {LABELS[soak.phase]}, N = {soak.n}, from 1 min to {minutes:.0f} min: "
                     f"**{growth:+.1f} MB** (target under {TARGET_RSS_GROWTH_MB:.0f} MB): "
                     f"**{'met' if ok else 'not met'}**")
    return lines


def soak_table(soaks: list[Soak], window: float) -> list[str]:
    if not soaks:
        return []
    times = [t for t, _ in soaks[0].rss]
    lines = ["| RSS MB (process tree) at | " + " | ".join(f"{t / 60:.1f} min" for t in times)
             + f" | peak (ru_maxrss) | growth from 1 min | client CPU s per {window:g} s, 2 min on | live at the end |",
             "|---|" + "---:|" * (len(times) + 4)]
    for s in soaks:
        cells = [fmt(v, 1) for _, v in s.rss]
        lines.append(f"| {LABELS[s.phase]} ({s.source or '?'}) | " + " | ".join(cells)
                     + f" | {fmt(s.peak_rss_mb, 1)} | {fmt(s.growth(), 1)} | {fmt(s.steady_cpu(window))} | {s.live} |")
    return lines


PROFILE_GROUPS = (
    ("Textual: compositor, styles, strips (drawing the panels)",
     ("textual/_compositor", "textual/_styles_cache", "textual/strip", "textual/content", "textual/visual",
      "textual/_border", "textual/_segment_tools", "textual/style.py", "textual/color", "textual/filter",
      "textual/_loop", "textual/geometry")),
    ("rich: the Text the panels are built as, styles", ("rich/",)),
    ("skid: views and panels (building what to draw)", ("skid_tui/ui/",)),
    ("skid: live model", ("skid_tui/model/",)),
    ("skid: stack helpers (sizes, formatting)", ("skid_tui/stack/",)),
    ("Textual: widgets, DOM, CSS, messages, timers", ("textual/",)),
    ("asyncio, selectors, threading", ("asyncio/", "selectors", "threading", "queue")),
)


def _group_of(filename: str) -> str | None:
    f = filename.replace("\\", "/")
    return next((label for label, keys in PROFILE_GROUPS if any(k in f for k in keys)), None)


def profile_lines(path: Path, window: float) -> list[str]:
    """The event loop thread's CPU by area, and the functions worth looking at."""
    import pstats

    st = pstats.Stats(str(path))
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = st.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values()) or 1e-9
    groups: dict[str, float] = {}
    for (filename, _, _), (_, _, tt, _, callers) in raw.items():
        name = _group_of(filename)
        if name is not None:
            groups[name] = groups.get(name, 0.0) + tt
            continue
        # A builtin or a stdlib helper (len, isinstance, cached_property): charge it to whoever called it.
        for (caller_file, _, _), stats in (callers or {}).items():
            owner = _group_of(caller_file) or "other (stdlib, builtins)"
            groups[owner] = groups.get(owner, 0.0) + stats[2]
        if not callers:
            groups["other (stdlib, builtins)"] = groups.get("other (stdlib, builtins)", 0.0) + tt
    lines = [f"The event loop's thread (where Textual draws) over one {window:g} s window, by CPU time (cProfile "
             f"on the thread's CPU clock; profiling slows the code down, so read shares, not seconds: "
             f"{total:.2f} CPU-s profiled). The sampler's and the watcher's threads are not in it. Builtins and "
             "stdlib helpers are charged to the area that called them.", "",
             "| area (own time) | share |", "|---|---:|"]
    for name, tt in sorted(groups.items(), key=lambda kv: -kv[1]):
        lines.append(f"| {name} | {tt / total * 100:.0f}% |")

    def short(filename: str, lineno: int, fn: str) -> str:
        where = "/".join(Path(filename).parts[-2:]) if filename.startswith("/") else filename
        return f"`{fn}` ({where}:{lineno})"

    # Inclusive: the two halves of a tick, skid's own functions, and Textual steps a widget can opt out of.
    notable = [
        ("textual/screen.py", "_compositor_refresh", "drawing the screen (Textual compositor)"),
        ("skid_tui/ui/app.py", "stats_sampled", "applying a stats batch, rebuilding the panels' views"),
        ("textual/strip.py", "_apply_link_style", "link styling of every strip (Widget.auto_links)"),
        ("textual/content.py", "from_rich_text", "converting the panels' rich Text to Textual Content"),
    ]
    lines += ["", "| inclusive time | share | calls |", "|---|---:|---:|"]
    seen = set()
    for module, func, label in notable:
        for (f, lineno, fn), (_, nc, _, ct, _) in raw.items():
            if fn == func and f.endswith(module):
                lines.append(f"| {label}: {short(f, lineno, fn)} | {ct / total * 100:.0f}% | {nc} |")
                seen.add((f, lineno, fn))
    skid = sorted(((k, v) for k, v in raw.items() if "skid_tui/" in k[0] and k not in seen),
                  key=lambda kv: -kv[1][3])
    for (f, lineno, fn), (_, nc, _, ct, _) in skid:
        if ct / total < 0.03:
            break
        lines.append(f"| {short(f, lineno, fn)} | {ct / total * 100:.0f}% | {nc} |")
    def calls(module: str, func: str) -> int:
        return max((v[1] for (f, _, fn), v in raw.items() if fn == func and f.endswith(module)), default=0)

    ticks = calls("skid_tui/ui/app.py", "stats_sampled")
    frames = calls("textual/screen.py", "_compositor_refresh")
    shown = calls("skid_tui/ui/widgets/service_panel.py", "show")
    drawn = calls("textual/widget.py", "_render_content")
    if ticks and frames:
        lines += ["", f"Per stats tick the app rebuilt {shown / ticks:.0f} panels' content (`ServicePanel.show`); "
                      f"per frame Textual rendered {drawn / frames:.0f} widgets' content (only what is on screen), "
                      f"in {frames} frames for {ticks} ticks."]
    top = sorted(raw.items(), key=lambda kv: -kv[1][2])[:10]
    lines += ["", "| own time | share | calls |", "|---|---:|---:|"]
    for (f, lineno, fn), (_, nc, tt, _, _) in top:
        lines.append(f"| {short(f, lineno, fn)} | {tt / total * 100:.1f}% | {nc} |")
    return lines


def auto_notes(results: list[Result], ns: list[int], phases: tuple[str, ...], window: float) -> list[str]:
    """What the numbers say, written from the numbers."""
    notes = []
    for n in ns:
        s = {x["phase"]: x for x in summary(results, n, phases)}
        ds, cg, api, idle = s.get("docker-stats"), s.get("skid-cgroup"), s.get("skid-api"), s.get("idle")
        if not (ds and ds["total"]):
            continue
        parts = [f"N = {n}: `docker stats` costs {ds['total']:.2f} CPU-s per {window:g} s, "
                 f"{(ds['induced'] or 0) / ds['total'] * 100:.0f}% of it in the engine "
                 f"({(ds['induced'] or 0) / window / n * 1000:.1f} ms of engine CPU per container-second)."]
        if cg and cg["total"] is not None and idle:
            spread = idle["engine_max"] - idle["engine_min"]
            within = abs(cg["induced"]) <= max(spread, 0.02 * window)
            parts.append(f"skid's cgroup path spends {cg['client']:.2f} CPU-s in its own process "
                         f"({cg['client'] / window * 100:.1f}% of a core) and induces {cg['induced']:+.2f} CPU-s in "
                         "the engine ("
                         + (f"within the idle rounds' spread of {spread:.2f} s: nothing measurable), so its cost "
                            "is the dashboard's own work." if within else
                            f"more than the idle rounds' spread of {spread:.2f} s).")
                         + f" Its own CPU alone is {cg['client'] / ds['total']:.2f}x the `docker stats` total."
                         )
        if api and api["total"] is not None:
            parts.append(f"On the API path the engine does the work: induced {api['induced']:.2f} CPU-s against "
                         f"`docker stats`' {ds['induced']:.2f} (a stream only for the panels in view, one reading "
                         f"every 10 s for the rest); skid's client {api['client']:.2f} CPU-s against the Go CLI's "
                         f"{ds['client']:.2f}.")
        agent = s.get("skid-agent")
        if agent and agent["total"] is not None:
            parts.append(f"The agent path: {agent['client']:.2f} CPU-s for skid and its agent together, "
                         f"{agent['induced']:+.2f} CPU-s induced in the engine (the agent's attach and shim).")
        still = s.get("skid-still")
        if still and still["total"] is not None and cg and cg["total"]:
            parts.append(f"With nothing changing (containers paused) the dashboard costs {still['client']:.2f} "
                         f"CPU-s and its terminal {still['term']:.2f}, against {cg['client']:.2f} and "
                         f"{cg['term']:.2f} while memory figures move.")
        if cg and ds:
            parts.append(f"What the terminal pays (tmux drawing what it is sent): {cg['term']:.2f} CPU-s for skid, "
                         f"{ds['term']:.2f} for `docker stats`.")
        notes.append("- " + " ".join(p for p in parts if p))
    small = min(ns)
    rows = [r for r in results if r.n == small and r.phase == "skid-cgroup" and r.first_paint_s is not None]
    if rows:
        t = {k: median([r.timeline.get(k) for r in rows]) for k in
             ("imported_s", "mounted_s", "connected_s", "first_samples_s", "first_paint_s")}
        if None not in t.values():
            notes.append(
                f"- Startup at N = {small} (cgroup path): imports {t['imported_s']:.2f} s, app mounted at "
                f"{t['mounted_s']:.2f} s, engine connected at {t['connected_s']:.2f} s, first samples at "
                f"{t['first_samples_s']:.2f} s, complete paint at {t['first_paint_s']:.2f} s: "
                f"{t['imported_s']:.2f} s of imports and {t['first_paint_s'] - t['connected_s']:.2f} s from the "
                "connection to every panel showing its memory (its CPU% follows a quarter second later: it needs "
                "two readings).")
    others = [r.other_cpu_s for r in results]
    if others:
        notes.append(f"- The rest of the machine (other processes, the containers' own loops, this script) used "
                     f"{median(others):.2f} CPU-s per window in the median, at most {max(others):.2f}: "
                     "phases run interleaved so that such noise lands on every row alike.")
    return notes


def write_report(path: Path, results: list[Result], args: argparse.Namespace, *, machine: dict[str, str],
                 phases: tuple[str, ...], command: str, elapsed: float, background: dict[int, str],
                 profiles: dict[int, list[str]], soaks: list[Soak]) -> None:
    ns = sorted({r.n for r in results})
    out = [
        "# Performance: skid's dashboard against `docker stats`",
        "",
        f"Written by `benchmarks/stats_bench.py` on {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}: "
        f"`{command}`, {elapsed / 60:.1f} min. Regenerate with `make bench`; see `benchmarks/README.md`.",
        "",
        "## Machine",
        "",
    ]
    out += [f"- {key}: {machine[key]}" for key in machine]
    out += [
        "",
        "## Method",
        "",
        f"N demo containers (`{IMAGE}`: 8 MiB held in /dev/shm, a `sleep 1` loop, a 64 MiB limit, no "
        "healthcheck), labelled as compose project `skid-bench`. "
        f"{args.rounds} rounds; every round runs each phase once ("
        + "; ".join(LABELS[p] for p in phases)
        + "), in an order rotated from round to round and reversed every other round"
        + f". Every phase measures a window of {args.window:g} s. Clients are measured in steady state: the "
        f"window opens {args.settle:g} s after the dashboard has painted every service with its memory, or "
        f"after `docker stats` has run {args.warmup:g} s (startup CPU is in the raw table). Every client draws "
        f"in a real terminal: a tmux window of {TERM_SIZE[0]}x{TERM_SIZE[1]} (`tmux-256color`, no status "
        "line) with a tmux client attached on a pseudo-terminal (`xterm-256color`) that the benchmark reads as "
        "a terminal emulator would. The dashboard is `SkidApp` in its own process, sampling at 1 Hz as always; "
        "`docker stats` is given the N container names.",
        "",
        "- client CPU: the client's process tree, user + system time over the window (psutil, every thread); "
        "on the agent path, the agent's awk process as well.",
        "- terminal CPU: the tmux server and the attached tmux client: what drawing the client's output costs.",
        "- engine CPU: dockerd, its children (containerd, docker-proxy) and this engine's containerd-shims, "
        "over the same window. Induced = that minus the median idle window of the same N.",
        "- total = client + terminal + induced, induced counted as 0 when noise makes it negative (a client is "
        "never credited with saving the engine work). Ratio = total / the `docker stats` total of the same "
        "round. Every cell is the median of the rounds, so a row's cells need not add up.",
        "- peak RSS: the client process's high-water mark (ru_maxrss of the runner; VmHWM of `docker stats`).",
        "- first paint: from the spawn to every service drawn with its memory (the runner's own record); for "
        "`docker stats`, to every row on screen showing a memory figure (tmux capture-pane, polled).",
        "- A phase during which the engine restarted or a container stopped is thrown away and run again.",
        "",
    ]
    for n in ns:
        out += [f"## N = {n}", "",
                f"Other containers on the engine meanwhile: {background.get(n, 'none')}.", ""]
        out += render_table(summary(results, n, phases), args.window)
        out.append("")
    out += [f"## Startup at N = {min(ns)}", ""]
    out += startup_table(results, min(ns))
    if soaks:
        out += ["", f"## Memory over {args.soak / 60:g} minutes (N = {soaks[0].n}, the three paths side by side)",
                "", f"The three dashboards run at once, each in a terminal window of its own; their RSS (process "
                f"tree) is read every {args.soak_every:g} s. The client CPU column is each one's own process tree "
                "(and the agent's awk) from the second minute on: the steady cost, past the first minute in "
                "which every sparkline grows a cell a second.", ""]
        out += soak_table(soaks, args.window)
    out += ["", "## Targets", ""]
    out += targets(results, ns, phases, soaks)
    out += ["", "## What the numbers say", ""]
    out += auto_notes(results, ns, phases, args.window)
    for n, lines in profiles.items():
        out += ["", f"## Where the dashboard's CPU goes (N = {n}, cgroup path, one more run, not in the tables)", ""]
        out += lines
    out += ["", "<details><summary>Every phase of every round</summary>", ""]
    out += raw_table(results)
    out += ["", "</details>", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(out)
    # The log and check benchmarks' sections live in the same file: keep them (each rewrites its own).
    old = path.read_text() if path.exists() else ""
    for section in ("log-bench", "check-bench"):
        begin, end = f"<!-- {section} -->", f"<!-- /{section} -->"
        if begin in old and end in old:
            text = text.rstrip("\n") + "\n\n" + begin + old.split(begin, 1)[1].split(end, 1)[0] + end + "\n"
    path.write_text(text)


# -- main ---------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", default=None, help="container counts, comma-separated (default 8,50; --quick: 8)")
    ap.add_argument("--rounds", type=int, default=None, help="rounds of every phase (default 3; --quick: 1)")
    ap.add_argument("--window", type=float, default=None, help="seconds measured per phase (default 30; --quick: 6)")
    ap.add_argument("--warmup", type=float, default=3.0, help="seconds docker stats (and idle) run before a window")
    ap.add_argument("--settle", type=float, default=1.0, help="seconds after the dashboard's sparklines are full")
    ap.add_argument("--steady-timeout", type=float, default=120.0,
                    help="give up waiting for full sparklines after this")
    ap.add_argument("--cooldown", type=float, default=1.0, help="seconds between phases")
    ap.add_argument("--paint-timeout", type=float, default=20.0, help="give up waiting for a first paint after this")
    ap.add_argument("--soak", type=float, default=None, help="seconds of the soak at the largest N (default 600; "
                                                           "--quick: none; 0: none)")
    ap.add_argument("--soak-every", type=float, default=60.0, help="seconds between the soak's RSS readings")
    ap.add_argument("--no-profile", action="store_true", help="skip the extra cProfile run at each N")
    ap.add_argument("--keep", default=None, help="keep the work folder (runner logs, profiles) here")
    ap.add_argument("--output", default=None, help="the Markdown report (default docs/performance.md; "
                                                   "--quick writes none unless given)")
    ap.add_argument("--json", default=None, help="also write every phase's numbers to this JSON file")
    ap.add_argument("--quick", action="store_true", help="a quick run for development: N = 8, 1 round, 6 s, "
                                                         "no soak, no profile, no report")
    # the runner mode (started by the benchmark)
    ap.add_argument("--run-dashboard", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--compose", help=argparse.SUPPRESS)
    ap.add_argument("--stats", choices=("cgroup", "api", "auto", "agent"), default="cgroup", help=argparse.SUPPRESS)
    ap.add_argument("--report", help=argparse.SUPPRESS)
    ap.add_argument("--control", help=argparse.SUPPRESS)
    ap.add_argument("--errors", help=argparse.SUPPRESS)
    ap.add_argument("--cprofile", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--history", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--phases", default=None, help="only these phases, comma-separated (default: all of them)")
    args = ap.parse_args(argv)
    if args.run_dashboard:
        return args
    try:
        args.ns = sorted({int(x) for x in (args.n or ("8" if args.quick else "8,50")).split(",") if x.strip()})
    except ValueError:
        ap.error(f"--n: comma-separated counts, not {args.n!r}")
    if not args.ns or min(args.ns) < 1 or max(args.ns) > 99:
        ap.error("--n: counts from 1 to 99")
    if args.phases:
        args.phases = tuple(p.strip() for p in args.phases.split(",") if p.strip())
        unknown = set(args.phases) - set(PHASES)
        if unknown:
            ap.error(f"--phases: unknown {', '.join(sorted(unknown))} (expected some of: {', '.join(PHASES)})")
    else:
        args.phases = PHASES
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.window = args.window or (6.0 if args.quick else 30.0)
    if args.soak is None:
        args.soak = 0.0 if args.quick else 600.0
    if args.quick:
        args.no_profile = True
    if args.output is None and not args.quick:
        args.output = str(REPO / "docs" / "performance.md")
    return args


def round_order(phases: tuple[str, ...], rnd: int) -> tuple[str, ...]:
    """Rotated every round and reversed every other one, so no phase always comes first, last, or right
    after the same other phase (the engine may still be closing the previous phase's streams)."""
    base = phases if rnd % 2 else phases[::-1]
    k = (rnd - 1) % len(phases)
    return base[k:] + base[:k]


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def preflight() -> tuple[Any, EngineMeter]:
    import docker
    import docker.errors

    sock = socket_path()
    meter = EngineMeter(sock)
    api = docker.APIClient(base_url=os.environ["DOCKER_HOST"], timeout=60)
    try:
        api.ping()
    except Exception as exc:
        raise BenchError(f"the engine at {sock} does not answer: {exc}") from exc
    try:
        api.inspect_image(IMAGE)
    except docker.errors.ImageNotFound as exc:
        raise BenchError(f"image {IMAGE} is missing on the engine: build the demo images with "
                         "`scripts/engine.sh up` (or compose/demo/build-images.sh)") from exc
    if not Path(DOCKER_CLI).exists():
        raise BenchError(f"{DOCKER_CLI} (Debian's docker.io client) is missing: apt-get install docker.io")
    return api, meter


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.run_dashboard:
        try:
            return run_dashboard(args)
        except BaseException:
            # The terminal is the runner's stderr: its traceback goes to a file the benchmark can quote.
            import traceback

            Path(args.errors).write_text(traceback.format_exc())
            raise
    began = time.monotonic()
    try:
        api, meter = preflight()
    except BenchError as exc:
        say(str(exc))
        return 2
    # A TERM (make interrupted, a CI timeout) unwinds like Ctrl-C, so the containers are removed.
    signal.signal(signal.SIGTERM, _interrupt)
    machine = machine_info(api)
    phases = args.phases
    workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="skid-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        term = Terminal(workdir)
    except (OSError, subprocess.CalledProcessError) as exc:
        say(f"cannot start the benchmark's tmux (apt-get install tmux): {exc}")
        return 2
    bench = Bench(args, api, meter, workdir, term)
    results: list[Result] = []
    soaks: list[Soak] = []
    background: dict[int, str] = {}
    profiles: dict[int, list[str]] = {}
    status = 0
    try:
        left = remove_bench_containers(api)
        if left:
            say(f"removed {left} container(s) left by an earlier run")
        for n in args.ns:
            say(f"N = {n}: starting {n} containers")
            write_compose(workdir / f"compose-{n}.yml", n)
            bench.names = []
            bench.ensure_containers(n)
            background[n] = other_containers(api)
            for rnd in range(1, args.rounds + 1):
                for phase in round_order(phases, rnd):
                    res = bench.run_phase(phase, n, rnd)
                    results.append(res)
                    say(f"N = {n} round {rnd}/{args.rounds} {phase:12s} client {fmt(res.client_cpu_s)} s, "
                        f"engine {fmt(res.engine_cpu_s)} s, rest {fmt(res.other_cpu_s)} s, "
                        f"rss {fmt(res.peak_rss_mb, 1)} MB"
                        + (f", first paint {res.first_paint_s:.2f} s" if res.first_paint_s is not None else "")
                        + (f", stats {res.stats_source}" if res.stats_source else "")
                        + (f" ({'; '.join(res.notes)})" if res.notes else ""))
            if args.soak and n == max(args.ns):
                say(f"N = {n}: the soak, {args.soak / 60:g} min of the three paths side by side")
                soaks = bench.soak(n)
                for s in soaks:
                    say(f"soak {s.phase}: RSS {', '.join(fmt(v, 1) for _, v in s.rss)} MB; peak "
                        f"{fmt(s.peak_rss_mb, 1)} MB; growth from 1 min {fmt(s.growth(), 1)} MB")
            if not args.no_profile:
                say(f"N = {n}: one more dashboard run under cProfile (not in the tables)")
                prof = bench.profile(n)
                if prof is not None:
                    profiles[n] = profile_lines(prof, args.window)
            say(f"N = {n}: removed {remove_bench_containers(api)} containers")
            bench.names = []
    except BenchError as exc:
        say(str(exc))
        status = 2
    except KeyboardInterrupt:
        say("interrupted")
        status = 130
    finally:
        bench.stop_clients()
        term.close()
        try:
            remove_bench_containers(api)
        except Exception as exc:
            say(f"could not remove the skid-bench containers: {exc}")
        if not args.keep:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)
    if status:
        return status
    finish(results)
    elapsed = time.monotonic() - began
    for n in args.ns:
        print(f"\nN = {n} (window {args.window:g} s, medians of {args.rounds} round(s))")
        print("\n".join(render_table(summary(results, n, phases), args.window)))
    print()
    print("\n".join(startup_table(results, min(args.ns))))
    print()
    if soaks:
        print("\n".join(soak_table(soaks, args.window)))
        print()
    print("\n".join(targets(results, args.ns, phases, soaks)))
    print()
    print("\n".join(auto_notes(results, args.ns, phases, args.window)))
    for lines in profiles.values():
        print()
        print("\n".join(lines))
    if args.json:
        Path(args.json).write_text(json.dumps([{**r.__dict__, "first_paint_s": r.first_paint_s} for r in results],
                                              indent=1))
    if args.output:
        extra = " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
        if os.environ.get("MAKELEVEL"):
            command = "make bench" + (f" BENCH_ARGS='{extra}'" if extra else "")
        else:
            command = f"DOCKER_HOST={os.environ['DOCKER_HOST']} python benchmarks/stats_bench.py {extra}".rstrip()
        write_report(Path(args.output), results, args, machine=machine, phases=phases, command=command,
                     elapsed=elapsed, background=background, profiles=profiles, soaks=soaks)
        say(f"wrote {args.output}")
    say(f"done in {elapsed / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
