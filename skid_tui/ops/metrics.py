"""`skid metrics`: the live model in the Prometheus text format, on a small HTTP server.

The model has one owner (the thread that drains the feed); a scrape comes on the HTTP server's thread. So
the owner publishes a frozen snapshot after each drain (`StackCollector.publish`), and a scrape reads
only the latest snapshot, never the model.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, ProcessCollector, start_http_server
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from skid_tui.model import BudgetState, LiveModel, ServiceResources, Totals
from skid_tui.model.live import primary
from skid_tui.ops.config import UsageError

SERVICE_LABELS = ("project", "service")


@dataclass(frozen=True)
class ServiceMetrics:
    resources: ServiceResources
    restarts: int | None  # the engine's restart count of the container shown; None without a container


@dataclass(frozen=True)
class StackSnapshot:
    """What one scrape reports: frozen, so the HTTP thread can read it while the model moves on."""

    project: str
    engine_up: bool
    services: tuple[ServiceMetrics, ...]
    totals: Totals

    @classmethod
    def of(cls, model: LiveModel) -> StackSnapshot:
        """Read the model: on its owner's thread only."""
        services = []
        for name in model.stack.services:
            c = primary(model.containers.get(name, ()))
            services.append(ServiceMetrics(model.resources(name), c.restart_count if c is not None else None))
        return cls(model.stack.project, model.engine.state == "connected", tuple(services), model.totals())


class StackCollector(Collector):
    """A custom collector over the latest published snapshot (nothing until the first publish)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshot: StackSnapshot | None = None

    def publish(self, model: LiveModel) -> None:
        """Called by the model's owner after it applied updates; the next scrape reports this."""
        snapshot = StackSnapshot.of(model)  # built outside the lock: a scrape waits only for the swap
        with self._lock:
            self._snapshot = snapshot

    @property
    def snapshot(self) -> StackSnapshot | None:
        with self._lock:
            return self._snapshot

    def collect(self) -> Iterator[Metric]:
        snap = self.snapshot
        if snap is None:
            return
        yield from service_metrics(snap)
        yield from stack_metrics(snap)


def _gauge(name: str, documentation: str, labels: tuple[str, ...] = SERVICE_LABELS) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=list(labels))


def service_metrics(snap: StackSnapshot) -> Iterator[Metric]:
    """One family per series, each with a sample per service that has the number (absent, not 0, when a
    service has none: a stopped service uses no memory, but "0 bytes" would read as a measurement)."""
    up = _gauge("skid_service_up", "1 when the service's container is running (and the engine answers), else 0")
    mem = _gauge("skid_service_memory_used_bytes", "memory in use, as docker stats counts it (page cache excluded)")
    mem_limit = _gauge("skid_service_memory_limit_bytes",
                       "the container's memory limit (the engine's memory when it has none, as docker stats shows)")
    standard = _gauge("skid_service_memory_budget_standard_bytes",
                      "the service's standard memory allocation: the compose file's reservation")
    maximum = _gauge("skid_service_memory_budget_maximum_bytes",
                     "the service's maximum memory: the compose file's limit")
    state = _gauge("skid_service_budget_state",
                   "the service's memory against its budget: 1 for the state it is in, 0 for the others "
                   "(all 0 for a stopped service with a budget)", (*SERVICE_LABELS, "state"))
    cpu = _gauge("skid_service_cpu_usage_ratio", "CPU in use in cores: 1 is one full core (docker stats' CPU % / 100)")
    cpu_limit = _gauge("skid_service_cpu_limit_cores", "the compose file's cpus limit, in cores")
    oom = CounterMetricFamily("skid_service_oom_kills", "OOM kills counted since skid started watching "
                              "(with those the kernel had counted before)", labels=list(SERVICE_LABELS))
    restarts = CounterMetricFamily("skid_service_restarts", "the engine's restart count of the service's "
                                   "container (restarts by its restart policy; a new container starts at 0)",
                                   labels=list(SERVICE_LABELS))
    rx = _gauge("skid_service_network_receive_bytes_per_second", "bytes received per second, every interface but lo")
    tx = _gauge("skid_service_network_transmit_bytes_per_second", "bytes sent per second, every interface but lo")
    pids = _gauge("skid_service_pids", "processes and threads in the container")

    for item in snap.services:
        r = item.resources
        labels = [snap.project, r.service]
        up.add_metric(labels, 1 if r.running else 0)
        if r.running and r.mem_bytes is not None:
            mem.add_metric(labels, r.mem_bytes)
            if r.mem_limit_bytes:  # an API stats document without a limit says 0: no number, not a limit of 0
                mem_limit.add_metric(labels, r.mem_limit_bytes)
        if r.mem_standard_bytes is not None:
            standard.add_metric(labels, r.mem_standard_bytes)
        if r.mem_max_bytes is not None:
            maximum.add_metric(labels, r.mem_max_bytes)
        for each in BudgetState:
            state.add_metric([*labels, each.value], 1 if r.budget_state == each else 0)
        if r.running and r.cpu_percent is not None:
            cpu.add_metric(labels, r.cpu_percent / 100.0)
        if r.cpu_limit is not None:
            cpu_limit.add_metric(labels, r.cpu_limit)
        oom.add_metric(labels, r.oom_kills)
        if item.restarts is not None:
            restarts.add_metric(labels, item.restarts)
        if r.running and r.net_rx_bps is not None:
            rx.add_metric(labels, r.net_rx_bps)
        if r.running and r.net_tx_bps is not None:
            tx.add_metric(labels, r.net_tx_bps)
        if r.running and r.pids is not None:
            pids.add_metric(labels, r.pids)
    yield from (up, mem, mem_limit, standard, maximum, state, cpu, cpu_limit, oom, restarts, rx, tx, pids)


def stack_metrics(snap: StackSnapshot) -> Iterator[Metric]:
    totals = snap.totals
    project = [snap.project]
    engine_up = _gauge("skid_engine_up", "1 when skid is connected to the container engine, else 0", ("project",))
    engine_up.add_metric(project, 1 if snap.engine_up else 0)
    yield engine_up
    if totals.engine_mem_total:
        engine_mem = _gauge("skid_engine_memory_total_bytes",
                            "the engine's memory (on Docker Desktop its VM's, not the machine's)", ("project",))
        engine_mem.add_metric(project, totals.engine_mem_total)
        yield engine_mem
    stack_mem = _gauge("skid_stack_memory_used_bytes", "memory in use by every running container of the stack",
                       ("project",))
    stack_mem.add_metric(project, totals.mem_bytes)
    yield stack_mem
    if totals.host_budget is not None:
        budget = _gauge("skid_stack_memory_budget_bytes", "the active profile's memory budget for the whole stack",
                        ("project",))
        budget.add_metric(project, totals.host_budget)
        yield budget
    # The machine skid runs on, not a service: no labels of the stack.
    host_total = _gauge("skid_host_memory_total_bytes", "this machine's memory", ())
    host_total.add_metric([], totals.host.total)
    host_used = _gauge("skid_host_memory_used_bytes", "this machine's memory in use (total minus available)", ())
    host_used.add_metric([], totals.host.used)
    yield from (host_total, host_used)


def metrics_registry(collector: StackCollector) -> CollectorRegistry:
    """A registry of our own, not prometheus_client's global one: only what skid means to export, and
    tests can make as many as they like. skid's own CPU seconds and RSS come from the process collector."""
    registry = CollectorRegistry()
    registry.register(collector)
    ProcessCollector(registry=registry)
    return registry


# -- serving ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListenAddress:
    host: str  # without brackets
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self}/metrics"


def parse_listen(text: str) -> ListenAddress:
    """"HOST:PORT" or "[IPv6]:PORT" -> ListenAddress; UsageError saying what is wrong."""
    example = "e.g. 127.0.0.1:9108 or [::1]:9108"
    if text.startswith("["):
        close = text.find("]")
        if close < 0 or not text[close + 1:].startswith(":"):
            raise UsageError(f"--listen {text}: write an IPv6 address as [ADDRESS]:PORT, {example}")
        host, port_text = text[1:close], text[close + 2:]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise UsageError(f"--listen {text}: {host!r} in brackets is not an IPv6 address") from None
    else:
        host, sep, port_text = text.rpartition(":")
        if not sep:
            raise UsageError(f"--listen {text}: give HOST:PORT, {example}")
        if ":" in host:
            raise UsageError(f"--listen {text}: put an IPv6 address in brackets, e.g. [::1]:{port_text}")
    if not host:
        raise UsageError(f"--listen {text}: the host is missing, {example}")
    if not (port_text.isascii() and port_text.isdigit()) or not 1 <= int(port_text) <= 65535:
        raise UsageError(f"--listen {text}: the port must be a number from 1 to 65535")
    return ListenAddress(host, int(port_text))


def _is_loopback_ip(text: str) -> bool:
    ip = ipaddress.ip_address(text.partition("%")[0])  # an IPv6 scope (%eth0) says nothing about loopback
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 (Python 3.11 does not call it loopback itself)
    return ip.is_loopback


def is_loopback(address: ListenAddress) -> bool:
    """Does the host name only this machine? A name counts when everything it resolves to is loopback
    (the server binds the first of them)."""
    try:
        return _is_loopback_ip(address.host)
    except ValueError:
        pass  # a name, not an address
    try:
        infos = socket.getaddrinfo(address.host, address.port, type=socket.SOCK_STREAM)
    except OSError:
        return False
    return bool(infos) and all(_is_loopback_ip(str(info[4][0])) for info in infos)


def listen_address(text: str, allow_remote: bool = False) -> ListenAddress:
    """The --listen address, refused beyond loopback unless allowed: the metrics name the stack's services."""
    address = parse_listen(text)
    if not allow_remote and not is_loopback(address):
        raise UsageError(f"--listen {text} is not a loopback address; add --allow-remote to serve it beyond "
                         f"this machine")
    return address


def serve(host: str, port: int, registry: CollectorRegistry) -> tuple[WSGIServer, threading.Thread]:
    """Serve the registry on a daemon thread; OSError when the address cannot be bound (in use, not this
    machine's). Port 0: any free port (server.server_port says which). End with `stop(server, thread)`."""
    return start_http_server(port, addr=host, registry=registry)


def stop(server: WSGIServer, thread: threading.Thread, timeout: float = 1.0) -> None:
    server.shutdown()  # ends serve_forever at its next poll (half a second at most)
    server.server_close()
    thread.join(timeout)
