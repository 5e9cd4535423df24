"""Test suites run in fresh containers with a memory limit, their output streamed line by line.

Each run is one container named `<project>-test-<suite>-<random>`, labelled with the compose project
but as a one-off (`com.docker.compose.oneoff=True`), so the dashboard never takes it for a service.
Its memory limit is also its swap limit, so the limit is the limit: a suite that needs more is
OOM-killed, and reported as such rather than as a plain failure. It joins the stack's network
(`<project>_default`) when that exists, so tests reach postgres or redis by name. Its peak memory is
the kernel's own high-water mark (cgroup v1 memory.max_usage_in_bytes, v2 memory.peak), read from the
cgroup while it runs, or the stats API's where the cgroup cannot be read (Docker Desktop, a remote
engine). The container is always removed afterwards, also on failure or cancel; volumes never are.
Everything here blocks; callers run it in a thread.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import docker.errors
import urllib3.exceptions
from docker.utils.socket import frames_iter

from skid_tui.engine import dockerapi
from skid_tui.engine.builds import image_tag
from skid_tui.engine.cgroups import locate, oom_kills
from skid_tui.engine.client import ENGINE_ERRORS, ONEOFF_LABEL, PROJECT_LABEL, Engine, describe_error
from skid_tui.stack.model import Stack, TestSuite
from skid_tui.stack.sizes import GIB, MIB, format_bytes, parse_size

TEST_LABEL = "org.skid-tui.test"
MEMORY_LEVELS = {"low": 512 * MIB, "medium": 1 * GIB, "high": 2 * GIB}
DEFAULT_MEMORY_LIMIT = "medium"
MIN_MEMORY = 6 * MIB  # the engine refuses less
MAX_MEMORY = 2**63 - 1  # the engine's int64
NOTE = "skid: "  # lines skid itself adds to a suite's output start with this
MEMORY_LIMIT_EXPECTED = "expected low (512 MiB), medium (1 GiB), high (2 GiB) or a size such as 768m"
_SAMPLE_SECONDS = 0.05


def parse_memory_limit(text: str) -> int:
    """`--memory-limit`: low, medium, high (512 MiB, 1 GiB, 2 GiB) or a compose size; ValueError if not."""
    word = text.strip().lower()
    if word in MEMORY_LEVELS:
        return MEMORY_LEVELS[word]
    try:
        size = parse_size(word)
    except ValueError:
        raise ValueError(f"--memory-limit '{text}' is not a limit ({MEMORY_LIMIT_EXPECTED})") from None
    if size < MIN_MEMORY:
        raise ValueError(f"--memory-limit '{text}' is below the engine's minimum of 6 MiB ({MEMORY_LIMIT_EXPECTED})")
    if size > MAX_MEMORY:
        raise ValueError(f"--memory-limit '{text}' is more than the engine can take ({MEMORY_LIMIT_EXPECTED})")
    return size


@dataclass(frozen=True)
class SuiteResult:
    """How a suite's run ended. passed only for exit 0 without an OOM kill. peak_source says where
    peak_mem was read (the cgroup's high-water mark, or the stats API)."""

    suite: str
    passed: bool
    exit_code: int | None
    seconds: float
    peak_mem: int | None
    mem_limit: int
    oom_killed: bool
    error: str = ""
    cancelled: bool = False
    peak_source: str = ""

    @property
    def outcome(self) -> str:
        """One word for a badge: passed, failed, oom, cancelled or error (it could not run)."""
        if self.cancelled:
            return "cancelled"
        if self.oom_killed:
            return "oom"
        if self.passed:
            return "passed"
        return "failed" if self.exit_code is not None else "error"


def suite_image(stack: Stack, suite: TestSuite) -> str:
    """The suite's image, or its service's (the name `skid build` tags it with)."""
    if suite.image:
        return suite.image
    if suite.service is None or suite.service not in stack.services:
        raise ValueError(f"test suite '{suite.name}' names no image and no known service")
    return image_tag(stack, suite.service)


def stack_network(stack: Stack) -> str:
    return f"{stack.project}_default"


def container_binds(stack: Stack, suite: TestSuite) -> list[str]:
    """The suite's volumes for the engine: named volumes under their engine names (`<project>_<name>`)."""
    binds = []
    for volume in suite.volumes:
        source, sep, rest = volume.partition(":")
        if _is_path(volume):
            binds.append(volume)
        else:
            binds.append(f"{stack.volume_names.get(source, f'{stack.project}_{source}')}{sep}{rest}")
    return binds


def _is_path(volume: str) -> bool:
    return volume.startswith("/") or (len(volume) > 2 and volume[1] == ":" and volume[2] in "\\/")


def _bind_source(bind: str) -> str:
    if len(bind) > 2 and bind[1] == ":" and bind[2] in "\\/":  # C:\src:/src
        return bind[:2] + bind[2:].split(":", 1)[0]
    return bind.split(":", 1)[0]


class LineSplitter:
    """Bytes in, whole lines out: UTF-8 decoded across chunk boundaries, `\\r` redraws collapsed."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._rest = ""

    def feed(self, data: bytes) -> list[str]:
        text = self._rest + self._decoder.decode(data)
        *lines, self._rest = text.split("\n")
        return [_visible(line) for line in lines]

    def close(self) -> list[str]:
        text = self._rest + self._decoder.decode(b"", final=True)
        self._rest = ""
        return [_visible(text)] if text else []


def _visible(line: str) -> str:
    """What a terminal would show: the text after the last carriage return (progress bars redraw)."""
    if "\r" not in line:
        return line
    parts = [p for p in line.split("\r") if p]
    return parts[-1] if parts else ""


class PeakMemory:
    """The container's peak memory while it runs: the cgroup's high-water mark, read every 50 ms
    (it is a maximum, so a late read loses nothing), else the engine's stats stream."""

    def __init__(self, engine: Engine, container_id: str) -> None:
        self.engine = engine
        self.container_id = container_id
        self.peak: int | None = None
        self.source = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._fd: int | None = None
        self._oom_fd: int | None = None
        self.oom_kills = 0  # the kernel's OOM kill counter of the container's cgroup, as last read
        self._response: Any = None

    def start(self, pid: int) -> None:
        if pid <= 0:
            self.source = "not measured: the container exited at once"
            return
        try:
            paths = locate(pid, self.container_id)
            memory_dir = paths.mem_usage.parent
            if paths.version == 1:
                path, self.source = memory_dir / "memory.max_usage_in_bytes", "cgroup memory.max_usage_in_bytes"
            elif (memory_dir / "memory.peak").exists():
                path, self.source = memory_dir / "memory.peak", "cgroup memory.peak"
            else:
                path, self.source = paths.mem_usage, "cgroup memory.current, sampled every 50 ms"
            self._fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            if paths.oom is not None:
                with contextlib.suppress(OSError):
                    self._oom_fd = os.open(paths.oom, os.O_RDONLY | os.O_CLOEXEC)
            self._read_cgroup()
            target = self._poll_cgroup
        except (OSError, LookupError, ValueError):
            self._fd = None
            self.source = "stats API"
            target = self._follow_stats
        self._thread = threading.Thread(target=target, daemon=True, name=f"peak-{self.container_id[:12]}")
        self._thread.start()

    def stop(self) -> tuple[int | None, str]:
        self._stop.set()
        if self._fd is not None:
            with contextlib.suppress(OSError, ValueError):
                self._read_cgroup()
        if self._response is not None:
            dockerapi.close_stream(self._response)
        if self._thread is not None:
            self._thread.join(timeout=2)
        for fd in (self._fd, self._oom_fd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._fd = self._oom_fd = None
        return self.peak, self.source

    def _note(self, value: int) -> None:
        if self.peak is None or value > self.peak:
            self.peak = value

    def _read_cgroup(self) -> None:
        assert self._fd is not None
        self._note(int(os.pread(self._fd, 64, 0)))
        if self._oom_fd is not None:
            self.oom_kills = max(self.oom_kills, oom_kills(os.pread(self._oom_fd, 4096, 0)) or 0)

    def _poll_cgroup(self) -> None:
        while not self._stop.wait(_SAMPLE_SECONDS):
            try:
                self._read_cgroup()
            except (OSError, ValueError):
                return  # the cgroup went with the container

    def _follow_stats(self) -> None:
        api = self.engine.api
        try:
            self._response = dockerapi.open_stream(api, "GET", "/containers/{0}/stats", self.container_id,
                                                   params={"stream": True})
            if self._stop.is_set():
                dockerapi.close_stream(self._response)
                return
            for sample in dockerapi.json_stream(api, self._response):
                memory = sample.get("memory_stats") or {}
                if memory.get("max_usage"):
                    self.source = "stats API memory_stats.max_usage"
                    self._note(int(memory["max_usage"]))
                elif memory.get("usage"):
                    self.source = "stats API usage, sampled every second"
                    self._note(int(memory["usage"]))
                if self._stop.is_set():
                    return
        except (*ENGINE_ERRORS, urllib3.exceptions.HTTPError, ValueError):
            return


def run_suite(  # noqa: PLR0917 (the dashboard and the CLI call it with these, in this order)
    engine: Engine,
    stack: Stack,
    suite: TestSuite,
    mem_limit: int,
    on_lines: Callable[[list[str]], None],
    cancel: threading.Event,
) -> SuiteResult:
    """Run one suite in a fresh container with `mem_limit` bytes of memory (and no swap beyond it).

    on_lines gets batches of output lines (stdout and stderr, as they come; lines skid adds start with
    `skid: `). Blocks until the container exits or `cancel` is set (then it is killed). The container
    is removed in every case; only bad arguments raise, every other failure is in the result.
    """
    image = suite_image(stack, suite)
    started = time.monotonic()
    ran_from: float | None = None

    def result(**kwargs: Any) -> SuiteResult:
        values: dict[str, Any] = {
            "suite": suite.name, "passed": False, "exit_code": None,
            "seconds": time.monotonic() - (ran_from if ran_from is not None else started),
            "peak_mem": None, "mem_limit": mem_limit, "oom_killed": False,
        }  # fmt: skip
        values.update(kwargs)
        return SuiteResult(**values)

    def note(*lines: str) -> None:
        on_lines([NOTE + line for line in lines])

    if cancel.is_set():
        return result(error="cancelled", cancelled=True)
    binds = container_binds(stack, suite)
    if engine.info.candidate.socket_path is not None:  # the engine shares this machine's files
        for bind in binds:
            source = _bind_source(bind)
            if _is_path(bind) and not os.path.exists(source):
                message = f"mount source {source} does not exist"
                if "skidbladnir" in source.lower():
                    message += " (set SKIDBLADNIR_SRC to your Skidbladnir checkout)"
                note(message)
                return result(error=message)
    api = engine.api
    container_id: str | None = None
    try:
        problem = _ensure_image(engine, stack, suite, image, note=note, cancel=cancel)
        if problem:
            return result(error=problem, cancelled=cancel.is_set())
        network: str | None = stack_network(stack)
        try:
            api.inspect_network(network)
        except docker.errors.NotFound:
            note(f"network {network} does not exist (the stack is not up): on the default bridge, "
                 "so the stack's services are not reachable by name")
            network = None
        name = f"{stack.project}-test-{suite.name}-{secrets.token_hex(3)}"
        host_config = api.create_host_config(
            mem_limit=mem_limit,
            memswap_limit=mem_limit,  # no swap beyond the limit: the limit is the limit
            shm_size=suite.shm_size,
            binds=binds or None,
            network_mode=network,
        )
        created = api.create_container(
            image,
            command=list(suite.command),
            name=name,
            working_dir=suite.working_dir,
            environment=[f"{k}={v}" for k, v in suite.environment.items()],
            labels={PROJECT_LABEL: stack.project, ONEOFF_LABEL: "True", TEST_LABEL: suite.name},
            host_config=host_config,
            tty=False,
            stdin_open=False,
        )
        container_id = str(created["Id"])
        for warning in created.get("Warnings") or ():
            note(f"warning: {warning}")
        note(f"{suite.name} in {name} ({image}), memory limit {format_bytes(mem_limit)}"
             f"{f', network {network}' if network else ''}")
        attach = _attach(engine, container_id)
        running = False
        try:
            if cancel.is_set():
                return result(error="cancelled", cancelled=True)
            api.start(container_id)
            ran_from = time.monotonic()
            sampler = PeakMemory(engine, container_id)
            state = (api.inspect_container(container_id).get("State") or {})
            sampler.start(int(state.get("Pid") or 0))
            running = True
        finally:
            if not running:
                dockerapi.close_stream(attach)  # cancelled first, or it would not start: the socket must not leak
        done = threading.Event()
        killer = threading.Thread(target=_kill_on_cancel, args=(engine, container_id, cancel, done),
                                  daemon=True, name=f"test-cancel-{suite.name}")
        killer.start()
        try:
            _stream_output(engine, attach, on_lines)
            status = api.wait(container_id, timeout=None)
        finally:
            done.set()
            peak, peak_source = sampler.stop()
        seconds = time.monotonic() - ran_from
        state = api.inspect_container(container_id).get("State") or {}
        exit_code = int(state.get("ExitCode", status.get("StatusCode", -1)))
        # Podman has not always set OOMKilled: a SIGKILL exit at the limit is the kernel's OOM killer too.
        at_limit = peak is not None and peak >= mem_limit * 0.95
        # The kernel's counter also catches a worker process killed while the suite's main process lived on.
        oom = (bool(state.get("OOMKilled")) or sampler.oom_kills > 0
               or (exit_code == 137 and at_limit and not cancel.is_set()))
        if oom:
            # The last 50 ms before the kill are not sampled, and the cgroup goes with the container: a
            # container killed for reaching its limit reached it.
            peak = max(peak or 0, mem_limit)
        if cancel.is_set():
            return result(exit_code=exit_code, seconds=seconds, peak_mem=peak, peak_source=peak_source,
                          oom_killed=oom, error="cancelled", cancelled=True)
        error = ""
        if status.get("Error") and (status["Error"] or {}).get("Message"):
            error = str(status["Error"]["Message"])
        return result(passed=exit_code == 0 and not oom, exit_code=exit_code, seconds=seconds, peak_mem=peak,
                      peak_source=peak_source, oom_killed=oom, error=error)
    except docker.errors.APIError as exc:
        message = _api_message(exc)
        note(message)
        return result(error=message, cancelled=cancel.is_set())
    except (*ENGINE_ERRORS, urllib3.exceptions.HTTPError) as exc:
        message = f"the engine failed: {describe_error(exc)}"
        note(message)
        return result(error=message, cancelled=cancel.is_set())
    finally:
        if container_id is not None:
            with contextlib.suppress(*ENGINE_ERRORS):
                api.remove_container(container_id, force=True, v=False)  # never its volumes


def _ensure_image(
    engine: Engine,
    stack: Stack,
    suite: TestSuite,
    image: str,
    *,
    note: Callable[..., None],
    cancel: threading.Event,
) -> str:
    """'' when the image is there (pulled if it has to be), else why it is not."""
    api = engine.api
    try:
        api.inspect_image(image)
        return ""
    except docker.errors.ImageNotFound:
        pass
    spec = stack.services.get(suite.service) if suite.service else None
    if spec is not None and spec.build is not None:
        message = f"image {image} is not built yet: build it first (`skid build {suite.service}`)"
        note(message)
        return message
    note(f"pulling {image}")
    repository, tag = _split_reference(image)
    seen: dict[str, str] = {}
    try:
        for chunk in api.pull(repository, tag=tag, stream=True, decode=True):
            if cancel.is_set():
                return "cancelled"
            if "error" in chunk:
                message = f"cannot pull {image}: {chunk['error']}"
                note(message)
                return message
            status, ident = str(chunk.get("status") or ""), str(chunk.get("id") or "")
            if (chunk.get("progressDetail") or {}).get("total") or seen.get(ident) == status:
                continue
            seen[ident] = status
            note(f"{ident}: {status}" if ident else status)
    except docker.errors.APIError as exc:
        message = f"cannot pull {image}: {_api_message(exc)}"
        note(message)
        return message
    return ""


def _split_reference(image: str) -> tuple[str, str | None]:
    if "@" in image:
        return image, None
    head, _, last = image.rpartition("/")
    if ":" in last:
        name, tag = last.split(":", 1)
        return (f"{head}/{name}" if head else name), tag
    return image, "latest"


def _attach(engine: Engine, container_id: str) -> Any:
    """Attach to stdout and stderr before the container starts, so no line is lost, with no read
    timeout (a quiet test may print nothing for minutes)."""
    return dockerapi.open_stream(
        engine.api,
        "POST",
        "/containers/{0}/attach",
        container_id,
        headers={"Connection": "Upgrade", "Upgrade": "tcp"},
        params={"logs": 1, "stdout": 1, "stderr": 1, "stream": 1},
    )


def _stream_output(engine: Engine, response: Any, on_lines: Callable[[list[str]], None]) -> None:
    sock = dockerapi.raw_socket(engine.api, response)
    splitter = LineSplitter()
    try:
        for _stream, data in frames_iter(sock, tty=False):
            lines = splitter.feed(data)
            if lines:
                on_lines(lines)
    except (OSError, urllib3.exceptions.HTTPError):
        pass  # the connection closed under us: the container exited or the run was cancelled
    finally:
        rest = splitter.close()
        if rest:
            on_lines(rest)
        dockerapi.close_stream(response)


def _kill_on_cancel(engine: Engine, container_id: str, cancel: threading.Event, done: threading.Event) -> None:
    while not done.is_set():
        if cancel.wait(0.1):
            with contextlib.suppress(*ENGINE_ERRORS):
                engine.api.kill(container_id)
            return


def _api_message(exc: docker.errors.APIError) -> str:
    explanation = getattr(exc, "explanation", None)
    return str(explanation or exc).strip()
