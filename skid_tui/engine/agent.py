"""The stats agent: cgroup reads for engines whose cgroups skid cannot open itself (Docker Desktop's VM, a
remote engine, a rootless engine's user namespace), at about the cost of reading them locally.

`skid --stats agent` starts one small container on the engine: busybox's awk, the host's (or VM's) cgroup
tree mounted read-only, the host's PID namespace for each container's network counters. skid writes a line
to its stdin once a second and it answers with one line: every container's raw counters (memory, inactive
file cache, limit, CPU time, pids, network bytes, OOM kills). skid does the arithmetic, as for its own cgroup
reads (cgroups.counters_sample). No stats stream per container, no engine work but one attach.

It is gone when skid is: stdin ends when skid exits or dies (the connection closes), awk ends, and the
engine removes the container (auto-remove). One left behind by a crash is removed by the next skid on this
machine: its labels name the host and the pid of the skid that started it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from dataclasses import dataclass

import docker
import docker.errors

from skid_tui.engine.cgroups import UNLIMITED
from skid_tui.engine.client import ENGINE_ERRORS, Engine
from skid_tui.engine.logs.frames import split_frames

LABEL = "org.skid-tui.agent"
HOST_LABEL = "org.skid-tui.agent.host"
PID_LABEL = "org.skid-tui.agent.pid"
# Images that have busybox's awk and find, in the order tried; the first is pulled when none is here.
IMAGES = ("busybox:latest", "skid-demo/base:latest")
ANSWER_TIMEOUT = 5.0  # seconds to wait for a reading before the agent counts as gone
START_TIMEOUT = 20.0
REMOVE_WAIT = 3.0  # seconds stop() waits for an auto-remove already under way
MEMORY_LIMIT = 32 * 1024 * 1024  # awk reading a few hundred small files a second needs a few MB

# The agent's program. Each input line asks for one reading ("scan" first looks for containers again); each
# reading is one line of "ID USAGE INACTIVE LIMIT CPU_NS PIDS RX TX OOM;" per container, "-" for what it
# could not read. A container's cgroup is a directory whose name holds its 64-hex id (docker/ID,
# docker-ID.scope, libpod-ID.scope), not conmon's. Only builtins run per reading: no fork a second.
PROGRAM = r"""
function readable(f,   x, r) { r = (getline x < f); close(f); return r >= 0 }
function one(f,   x) { x = ""; getline x < f; close(f); return x }
function statv(f, key,   line, a, v) {
  v = ""
  while ((getline line < f) > 0) { split(line, a, " "); if (a[1] == key) { v = a[2]; break } }
  close(f); return v
}
function nz(v) { return v == "" ? "-" : v }
function scan(   cmd, d, n, p, base, id) {
  for (id in ids) delete ids[id]
  for (id in v2) delete v2[id]
  for (id in memd) delete memd[id]
  for (id in cpud) delete cpud[id]
  for (id in pidd) delete pidd[id]
  cmd = "find " R " -maxdepth 7 -type d 2>/dev/null"
  while ((cmd | getline d) > 0) {
    n = split(d, p, "/"); base = p[n]
    if (base ~ /conmon/ || !match(base, /[0-9a-f]{64}/)) continue
    id = substr(base, RSTART, 64)
    if (readable(d "/memory.current")) { v2[id] = 1; memd[id] = d; cpud[id] = d; pidd[id] = d; ids[id] = 1; continue }
    if (readable(d "/memory.usage_in_bytes")) { memd[id] = d; ids[id] = 1 }
    if (readable(d "/cpuacct.usage")) cpud[id] = d
    if (readable(d "/pids.current")) pidd[id] = d
  }
  close(cmd)
}
function net(pid,   f, line, i, name, a, rx, tx) {
  if (pid == "") return "- -"
  f = "/proc/" pid "/net/dev"; rx = 0; tx = 0
  while ((getline line < f) > 0) {
    i = index(line, ":"); if (i == 0) continue
    name = substr(line, 1, i - 1); gsub(/ /, "", name); if (name == "lo") continue
    split(substr(line, i + 1), a, " "); rx += a[1]; tx += a[9]
  }
  close(f)
  return sprintf("%.0f %.0f", rx, tx)
}
function sample(id,   m, c, use, inact, lim, cpu, oom, pids) {
  m = memd[id]; c = cpud[id]
  if (id in v2) {
    use = one(m "/memory.current"); if (use == "") return
    inact = statv(m "/memory.stat", "inactive_file"); lim = one(m "/memory.max")
    cpu = statv(c "/cpu.stat", "usage_usec"); if (cpu != "") cpu = cpu "000"
    oom = statv(m "/memory.events", "oom_kill")
  } else {
    use = one(m "/memory.usage_in_bytes"); if (use == "") return
    inact = statv(m "/memory.stat", "total_inactive_file"); lim = one(m "/memory.limit_in_bytes")
    cpu = (c == "") ? "" : one(c "/cpuacct.usage")
    oom = statv(m "/memory.oom_control", "oom_kill")
  }
  pids = (id in pidd) ? one(pidd[id] "/pids.current") : ""
  printf "%s %s %s %s %s %s ", id, use, nz(inact), nz(lim), nz(cpu), nz(pids)
  printf "%s %s;", net(one(m "/cgroup.procs")), nz(oom)
}
BEGIN { R = "/host/cgroup"; scan() }
{
  if ($1 == "scan") scan()
  for (id in ids) sample(id)
  printf "\n"; fflush()
}
"""


@dataclass(frozen=True)
class Counters:
    """One container's raw cgroup counters as the agent read them; None where it could not."""

    usage: int
    inactive: int
    limit: int | None  # bytes; the UNLIMITED sentinel or more when none
    cpu_ns: int | None
    pids: int | None
    net: tuple[int, int] | None
    oom_kills: int | None


class AgentError(Exception):
    """The agent could not be started or stopped answering; the message says why, for the header."""


def _number(text: str) -> int | None:
    return None if text == "-" else int(text)


def parse_reading(line: str) -> dict[str, Counters]:
    """One answer line -> counters by container id. A malformed entry is skipped, never fatal."""
    readings: dict[str, Counters] = {}
    for entry in line.split(";"):
        fields = entry.split()
        if len(fields) != 9 or len(fields[0]) != 64:
            continue
        cid, usage, inactive, limit, cpu, pids, rx, tx, oom = fields
        try:
            limit_value = UNLIMITED if limit == "max" else _number(limit)
            readings[cid] = Counters(int(usage), _number(inactive) or 0, limit_value, _number(cpu), _number(pids),
                                     None if rx == "-" or tx == "-" else (int(rx), int(tx)), _number(oom))
        except ValueError:
            continue
    return readings


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def remove_stale(engine: Engine, host: str | None = None) -> list[str]:
    """Remove agents started on this machine by a skid that is gone (a crash, a kill -9): their names."""
    host = host or socket.gethostname()
    removed = []
    for c in engine.api.containers(all=True, filters={"label": [LABEL, f"{HOST_LABEL}={host}"]}):
        labels = c.get("Labels") or {}
        try:
            pid = int(labels.get(PID_LABEL, ""))
        except ValueError:
            pid = 0
        if pid > 0 and pid != os.getpid() and _pid_alive(pid):
            continue
        with contextlib.suppress(docker.errors.NotFound):
            engine.api.remove_container(c["Id"], force=True)
            removed.append(((c.get("Names") or ["?"])[0]).lstrip("/"))
    return removed


class StatsAgent:
    """One agent container and its attached stdin/stdout. Blocking: use from the sampler's thread."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.container_id: str | None = None
        self.image: str | None = None
        self._sock: socket.socket | None = None
        self._buffer = bytearray()
        self._text = b""  # stdout received past the last complete line
        self._stderr = b""

    def _image(self) -> str:
        api = self.engine.api
        for name in IMAGES:
            try:
                api.inspect_image(name)
            except docker.errors.ImageNotFound:
                continue
            return name
        try:
            api.pull(IMAGES[0].split(":")[0], tag="latest")
        except ENGINE_ERRORS as exc:
            raise AgentError(f"no busybox image for the stats agent and the pull failed: {exc}") from exc
        return IMAGES[0]

    def start(self) -> None:
        """Clear stale agents, create this one, attach to it and start it; AgentError when any step fails."""
        api = self.engine.api
        try:
            remove_stale(self.engine)
            self.image = self._image()
            host_config = api.create_host_config(
                binds={"/sys/fs/cgroup": {"bind": "/host/cgroup", "mode": "ro"}},
                pid_mode="host",  # each container's /proc/PID/net/dev: its network counters
                network_mode="none",
                auto_remove=True,
                read_only=True,
                mem_limit=MEMORY_LIMIT,
                log_config=docker.types.LogConfig(type="none"),
            )
            created = api.create_container(
                self.image, command=["awk", PROGRAM], stdin_open=True, tty=False,  # not detached: StdinOnce
                labels={LABEL: "stats", HOST_LABEL: socket.gethostname(), PID_LABEL: str(os.getpid())},
                name=f"skid-stats-agent-{socket.gethostname()}-{os.getpid()}"[:63], host_config=host_config)
            self.container_id = created["Id"]
            raw = api.attach_socket(self.container_id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
            self._sock = getattr(raw, "_sock", raw)
            api.start(self.container_id)
            self.read(timeout=START_TIMEOUT)  # the first reading proves it works
        except (AgentError, *ENGINE_ERRORS) as exc:
            self.stop()
            raise exc if isinstance(exc, AgentError) else AgentError(f"stats agent: {exc}") from exc

    def read(self, scan: bool = False, timeout: float = ANSWER_TIMEOUT) -> dict[str, Counters]:
        """Ask for a reading and wait for it; `scan` looks for new containers first. AgentError when the agent
        does not answer (it ended, or the engine went away)."""
        sock = self._sock
        if sock is None:
            raise AgentError("the stats agent is not running")
        try:
            sock.settimeout(timeout)
            sock.sendall(b"scan\n" if scan else b"r\n")
            deadline = time.monotonic() + timeout
            while b"\n" not in self._text:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                chunk = sock.recv(65536)
                if not chunk:
                    why = self._stderr.decode(errors="replace").strip().splitlines()[-1:] or ["it ended"]
                    raise AgentError(f"the stats agent stopped: {why[0]}")
                self._buffer += chunk
                for stream, data in split_frames(self._buffer, True):
                    if stream == 2:
                        self._stderr = (self._stderr + data)[-4096:]
                    else:
                        self._text += data
        except OSError as exc:  # socket.timeout included
            raise AgentError(f"the stats agent did not answer: {exc or 'timed out'}") from exc
        line, _, self._text = self._text.partition(b"\n")
        return parse_reading(line.decode(errors="replace"))

    def stop(self) -> None:
        """Close its stdin (it ends) and remove it now. Never raises."""
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()
        cid, self.container_id = self.container_id, None
        if cid is None:
            return
        try:
            self.engine.api.remove_container(cid, force=True)
        except docker.errors.NotFound:
            return
        except docker.errors.APIError as exc:
            # 409: closing stdin ended awk and the engine's auto-remove got there first; wait for it, briefly,
            # so that "stopped" means "gone" for whoever looks next (the next skid, a test, `docker ps -a`).
            if exc.status_code == 409:
                self._wait_gone(cid, REMOVE_WAIT)
        except ENGINE_ERRORS:
            pass

    def _wait_gone(self, cid: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.engine.api.inspect_container(cid)
            except docker.errors.NotFound:
                return
            except ENGINE_ERRORS:
                return
            time.sleep(0.05)
