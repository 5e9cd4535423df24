"""What `i` and `skid inspect SERVICE` show: a service's containers as the engine describes them, for both
front ends, with every value that looks secret masked until the user asks for that one.

Built from the engine's inspect documents (Docker and Podman shapes) by pure functions, so the masking and
the shape are tested without an engine; `inspect_service` fetches them (blocking: a worker thread).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from skid_tui.engine.client import ENGINE_ERRORS, Engine, describe_error
from skid_tui.engine.containers import parse_engine_time, read_project, service_containers
from skid_tui.engine.discovery import EngineCandidate
from skid_tui.stack import Stack, format_bytes

MASK = "••••"
# A variable whose name holds one of these words is a secret; so is a *_FILE variable naming a file in
# /run/secrets (the convention of the official images: POSTGRES_PASSWORD_FILE=/run/secrets/db).
SECRET_WORDS = ("PASSWORD", "PASSWD", "SECRET", "TOKEN", "KEY", "CREDENTIAL", "PASS", "PRIVATE", "AUTH")
HEALTH_RESULTS = 5  # the last results shown (the engine keeps five)


def is_secret(name: str, value: str = "") -> bool:
    upper = name.upper()
    if any(word in upper for word in SECRET_WORDS):
        return True
    return upper.endswith("_FILE") and value.startswith("/run/secrets")


@dataclass(frozen=True)
class EnvVar:
    name: str
    value: str
    secret: bool

    def shown(self, reveal: bool = False) -> str:
        return self.value if reveal or not self.secret else MASK


@dataclass(frozen=True)
class Mount:
    kind: str  # volume, bind, tmpfs
    source: str  # the volume's name or the host path
    destination: str
    writable: bool


@dataclass(frozen=True)
class HealthResult:
    start: datetime | None
    end: datetime | None
    exit_code: int
    output: str


@dataclass(frozen=True)
class ContainerInspect:
    """One container of a service, as the inspect screen and `skid inspect` show it."""

    id: str
    name: str
    state: str
    started_at: datetime | None
    finished_at: datetime | None
    exit_code: int
    oom_killed: bool
    restart_count: int
    restart_policy: str
    image: str  # as the container names it
    image_id: str
    image_created: datetime | None
    command: tuple[str, ...]
    env: tuple[EnvVar, ...]
    mounts: tuple[Mount, ...]
    ports: tuple[str, ...]  # "127.0.0.1:16379->6379/tcp", "6379/tcp" when not published
    networks: tuple[tuple[str, tuple[str, ...]], ...]  # (network, its aliases for the container)
    labels: tuple[tuple[str, str], ...]
    memory_limit: int  # bytes; 0: none
    memory_reservation: int
    cpus: float  # 0: no limit
    health: str | None
    health_streak: int
    health_test: tuple[str, ...]
    health_log: tuple[HealthResult, ...]

    def secrets(self) -> list[str]:
        return [v.name for v in self.env if v.secret]

    def to_json(self, reveal: bool = False) -> dict[str, Any]:
        """For `--json`: a secret's value is null (and "masked": true) unless revealed."""
        doc = asdict(self)
        doc["env"] = [{"name": v.name, "value": v.value if reveal or not v.secret else None, "secret": v.secret,
                       **({"masked": True} if v.secret and not reveal else {})} for v in self.env]
        doc["networks"] = [{"name": n, "aliases": list(a)} for n, a in self.networks]
        doc["labels"] = dict(self.labels)
        for key in ("started_at", "finished_at", "image_created"):
            doc[key] = _iso(getattr(self, key))
        doc["health_log"] = [{"start": _iso(h.start), "end": _iso(h.end), "exit_code": h.exit_code,
                              "output": h.output} for h in self.health_log]
        return doc


@dataclass(frozen=True)
class ServiceInspect:
    service: str
    containers: tuple[ContainerInspect, ...]
    error: str = ""  # one line: why nothing could be read ("" when it could)

    def to_json(self, reveal: bool = False) -> dict[str, Any]:
        return {"service": self.service, "containers": [c.to_json(reveal) for c in self.containers],
                **({"error": self.error} if self.error else {})}


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t is not None else None


def parse_env(entries: list[str] | None) -> tuple[EnvVar, ...]:
    out = []
    for entry in entries or ():
        name, _, value = str(entry).partition("=")
        out.append(EnvVar(name, value, is_secret(name, value)))
    return tuple(out)


def _ports(raw: Mapping[str, Any] | None) -> tuple[str, ...]:
    shown: list[str] = []
    for key, bindings in sorted((raw or {}).items()):
        published = [b for b in bindings or () if b.get("HostPort")]
        if not published:
            shown.append(str(key))
        seen = set()
        for b in published:
            host = f"{b.get('HostIp') or '0.0.0.0'}:{b['HostPort']}"
            if (b["HostPort"], ":" in (b.get("HostIp") or "")) in seen:
                continue
            seen.add((b["HostPort"], ":" in (b.get("HostIp") or "")))
            shown.append(f"{host}->{key}")
    return tuple(shown)


def container_inspect(doc: Mapping[str, Any], image: Mapping[str, Any] | None = None) -> ContainerInspect:
    """One container's inspect document (and its image's, for the creation date), as shown."""
    config = doc.get("Config") or {}
    state = doc.get("State") or {}
    host = doc.get("HostConfig") or {}
    health = state.get("Health") or state.get("Healthcheck") or {}
    check = config.get("Healthcheck") or {}
    policy = host.get("RestartPolicy") or {}
    networks = (doc.get("NetworkSettings") or {}).get("Networks") or {}
    nano = int(host.get("NanoCpus") or 0)
    quota, period = int(host.get("CpuQuota") or 0), int(host.get("CpuPeriod") or 0)
    log = [HealthResult(parse_engine_time(r.get("Start")), parse_engine_time(r.get("End")),
                        int(r.get("ExitCode") or 0), str(r.get("Output") or "").rstrip("\n"))
           for r in (health.get("Log") or ())[-HEALTH_RESULTS:]]
    return ContainerInspect(
        id=str(doc.get("Id", "")),
        name=str(doc.get("Name", "")).lstrip("/"),
        state=str(state.get("Status", "unknown")),
        started_at=parse_engine_time(state.get("StartedAt")),
        finished_at=parse_engine_time(state.get("FinishedAt")),
        exit_code=int(state.get("ExitCode") or 0),
        oom_killed=bool(state.get("OOMKilled")),
        restart_count=int(doc.get("RestartCount") or 0),
        restart_policy=str(policy.get("Name") or "no") + (f":{policy['MaximumRetryCount']}"
                                                         if policy.get("MaximumRetryCount") else ""),
        image=str(config.get("Image", "")),
        image_id=str(doc.get("Image", "")),
        image_created=parse_engine_time((image or {}).get("Created")),
        command=tuple(map(str, [*(config.get("Entrypoint") or ()), *(config.get("Cmd") or ())])),
        env=parse_env(config.get("Env")),
        mounts=tuple(Mount(str(m.get("Type", "")), str(m.get("Name") or m.get("Source") or ""),
                           str(m.get("Destination", "")), bool(m.get("RW", True)))
                     for m in doc.get("Mounts") or ()),
        ports=_ports((doc.get("NetworkSettings") or {}).get("Ports")),
        networks=tuple((str(name), tuple(str(a) for a in (net or {}).get("Aliases") or ()))
                       for name, net in sorted(networks.items())),
        labels=tuple(sorted((str(k), str(v)) for k, v in (config.get("Labels") or {}).items())),
        memory_limit=int(host.get("Memory") or 0),
        memory_reservation=int(host.get("MemoryReservation") or 0),
        cpus=nano / 1e9 if nano else (quota / period if quota > 0 and period > 0 else 0.0),
        health=health.get("Status") or None,
        health_streak=int(health.get("FailingStreak") or 0),
        health_test=tuple(map(str, check.get("Test") or ())),
        health_log=tuple(log),
    )


def inspect_service(stack: Stack, service: str, candidates: Callable[[], list[EngineCandidate]]) -> ServiceInspect:
    """Every container of the service, inspected now (blocking). An engine failure is the result's error."""
    try:
        engine = Engine.first_answering(candidates())
    except ENGINE_ERRORS as exc:
        return ServiceInspect(service, (), f"no engine: {describe_error(exc)}")
    try:
        containers = service_containers(read_project(engine, stack.project), stack.project).get(service, ())
        found = []
        images: dict[str, dict[str, Any] | None] = {}
        for c in containers:
            doc = engine.inspect(c.id)
            if doc is None:
                continue  # removed in between
            image_id = str(doc.get("Image", ""))
            if image_id not in images:
                images[image_id] = engine.inspect_image(image_id) if image_id else None
            found.append(container_inspect(doc, images[image_id]))
    except ENGINE_ERRORS as exc:
        return ServiceInspect(service, (), f"the engine failed: {describe_error(exc)}")
    finally:
        engine.close()
    if not found:
        return ServiceInspect(service, (), f"{service} has no container: `skid up {service}` creates it")
    return ServiceInspect(service, tuple(found))



# -- what is shown, in order: the same sections on the inspect screen and from `skid inspect` ---------------


@dataclass(frozen=True)
class Row:
    key: str
    value: str  # may hold several lines (a healthcheck's output)
    secret: str = ""  # the variable's name when the value is a secret's (masked or revealed)
    warn: bool = False  # worth the eye: a non-zero exit, an OOM kill, a failing check


@dataclass(frozen=True)
class Section:
    title: str
    rows: tuple[Row, ...]


def when(t: datetime | None, now: datetime) -> str:
    if t is None:
        return "never"
    ago = max(0, int((now - t).total_seconds()))
    age = f"{ago}s" if ago < 120 else f"{ago // 60}m" if ago < 7200 else f"{ago // 3600}h" if ago < 172800 \
        else f"{ago // 86400}d"
    return f"{t.astimezone():%Y-%m-%d %H:%M:%S} ({age} ago)"


def sections(c: ContainerInspect, now: datetime, reveal: frozenset[str] = frozenset()) -> list[Section]:
    """The container's sections; a secret's value is masked unless its name is in `reveal`."""
    running = c.state in ("running", "paused", "restarting")
    state = c.state + (" (OOM-killed)" if c.oom_killed else "")
    overview = [Row("state", state, warn=c.oom_killed or c.state == "dead"),
                Row("started", when(c.started_at, now))]
    if not running:
        overview.append(Row("finished", when(c.finished_at, now)))
    overview += [
        Row("last exit code", str(c.exit_code), warn=c.exit_code != 0),
        Row("restarts", f"{c.restart_count} (policy {c.restart_policy})", warn=c.restart_count > 0),
        Row("command", " ".join(c.command) or "(the image's)"),
        Row("image", c.image),
        Row("image id", c.image_id.removeprefix("sha256:")[:12]),
        Row("image created", when(c.image_created, now)),
        Row("memory", _limits(c)),
        Row("cpus", f"{c.cpus:g}" if c.cpus else "no limit"),
    ]
    out = [Section(f"{c.name} ({c.id[:12]})", tuple(overview))]
    if c.health is not None or c.health_test:
        rows = [Row("status", c.health or "no check yet", warn=c.health == "unhealthy"),
                Row("test", " ".join(c.health_test[1:] if c.health_test[:1] in (("CMD",), ("CMD-SHELL",))
                                     else c.health_test))]
        if c.health_streak:
            rows.append(Row("failing streak", str(c.health_streak), warn=True))
        for r in reversed(c.health_log):  # newest first: why is it unhealthy now?
            at = f"{r.end.astimezone():%H:%M:%S}" if r.end else "?"
            rows.append(Row(f"{at} exit {r.exit_code}", r.output or "(no output)", warn=r.exit_code != 0))
        out.append(Section("healthcheck", tuple(rows)))
    out.append(Section("environment", tuple(
        Row(v.name, v.shown(v.name in reveal), secret=v.name if v.secret else "") for v in c.env)))
    out.append(Section("mounts", tuple(
        Row(m.destination, f"{m.kind} {m.source}" + ("" if m.writable else " (read-only)")) for m in c.mounts)))
    out.append(Section("ports", tuple(Row(p.partition("->")[2] or p, p.partition("->")[0] if "->" in p
                                          else "not published") for p in c.ports)))
    out.append(Section("networks", tuple(Row(n, ", ".join(a) or "-") for n, a in c.networks)))
    out.append(Section("labels", tuple(Row(k, v) for k, v in c.labels)))
    return out


def _limits(c: ContainerInspect) -> str:
    if not c.memory_limit and not c.memory_reservation:
        return "no limit"
    parts = []
    if c.memory_reservation:
        parts.append(f"reservation {format_bytes(c.memory_reservation)}")
    parts.append(f"limit {format_bytes(c.memory_limit)}" if c.memory_limit else "no limit")
    return ", ".join(parts)
