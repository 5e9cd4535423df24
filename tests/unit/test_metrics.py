"""`skid metrics` and `skid monitor --json` streaming: the Prometheus series of a synthetic model, a real
scrape over HTTP, the --listen address and its loopback rule, NDJSON lines. No engine."""

from __future__ import annotations

import argparse
import io
import json
import socket
import sys
import urllib.request
from dataclasses import replace

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from skid_tui.cli import metrics as cli_metrics
from skid_tui.cli.monitor_json import run_ndjson
from skid_tui.engine.client import EngineInfo
from skid_tui.engine.discovery import EngineCandidate
from skid_tui.engine.sampler import StatsBatch
from skid_tui.engine.stats import StatsSample
from skid_tui.engine.watcher import EngineStatus, ServiceUpdate, WatchUpdate
from skid_tui.model import BudgetState, HostMemory, LiveModel
from skid_tui.ops.config import Options, UsageError
from skid_tui.ops.metrics import (
    ListenAddress,
    StackCollector,
    listen_address,
    metrics_registry,
    parse_listen,
    serve,
    stop,
)
from tests.factories import NOW, GiB, MiB, container, demo_stack

INFO = EngineInfo("Docker Engine", "20.10", "1.41", "Debian", 8 * GiB, 2,
                  EngineCandidate("unix:///x.sock", "DOCKER_HOST"))
PG = replace(container("postgres"), restart_count=3)
REDIS = container("redis")
MINIO = container("minio", state="exited", exit_code=0)


def sample(cid: str, mem: int, cpu: float | None = 12.5, *, oom_kills: int = 0) -> StatsSample:
    # A full second of CPU window: what wait_complete asks of a sample before reporting it.
    return StatsSample(cid, 0.0, mem, 1 * GiB, cpu, 0, 0, 0, 0, 7, "cgroup", 1000.0, 2000.0,
                       cpu_window=1.0, oom_kills=oom_kills)


def stack_model() -> LiveModel:
    """postgres running over its standard, redis running after an OOM kill, minio stopped, the rest never
    created."""
    stack = demo_stack()
    m = LiveModel(stack, stack.profiles["minimal"], host_memory=lambda: HostMemory(16 * GiB, 12 * GiB),
                  clock=lambda: NOW)
    updates: list[WatchUpdate] = [
        EngineStatus("connected", info=INFO),
        ServiceUpdate("postgres", (PG,)),
        ServiceUpdate("redis", (REDIS,)),
        ServiceUpdate("minio", (MINIO,)),
        StatsBatch((sample(PG.id, 300 * MiB), sample(REDIS.id, 100 * MiB, 5.0, oom_kills=1)), "cgroup"),
    ]
    for update in updates:
        m.apply(update)
    return m


def series(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found: dict, name: str, **labels: str) -> float | None:
    return found.get((name, frozenset({"project": "skid-demo", **labels}.items())))


def names(found: dict) -> set[str]:
    return {name for name, _ in found}


def scraped(model: LiveModel) -> tuple[StackCollector, dict]:
    collector = StackCollector()
    registry = metrics_registry(collector)
    collector.publish(model)
    return collector, series(generate_latest(registry).decode())


def test_the_series_of_a_running_service():
    _, found = scraped(stack_model())
    pg = {"service": "postgres"}
    assert value(found, "skid_service_up", **pg) == 1
    assert value(found, "skid_service_memory_used_bytes", **pg) == 300 * MiB
    assert value(found, "skid_service_memory_limit_bytes", **pg) == 1 * GiB  # the container's, not the budget's
    assert value(found, "skid_service_memory_budget_standard_bytes", **pg) == 256 * MiB
    assert value(found, "skid_service_memory_budget_maximum_bytes", **pg) == 512 * MiB
    assert value(found, "skid_service_cpu_usage_ratio", **pg) == pytest.approx(0.125)
    assert value(found, "skid_service_cpu_limit_cores", **pg) == 0.5
    assert value(found, "skid_service_oom_kills_total", **pg) == 0
    assert value(found, "skid_service_restarts_total", **pg) == 3
    assert value(found, "skid_service_network_receive_bytes_per_second", **pg) == 1000.0
    assert value(found, "skid_service_network_transmit_bytes_per_second", **pg) == 2000.0
    assert value(found, "skid_service_pids", **pg) == 7


def test_budget_state_is_one_hot_over_every_state():
    _, found = scraped(stack_model())
    for service, now in (("postgres", "over_standard"), ("redis", "oom")):
        states = {s.value: value(found, "skid_service_budget_state", service=service, state=s.value)
                  for s in BudgetState}
        assert states == {s.value: (1 if s.value == now else 0) for s in BudgetState}
    assert value(found, "skid_service_oom_kills_total", service="redis") == 1


def test_a_stopped_service_is_down_with_no_numbers_but_its_budget():
    _, found = scraped(stack_model())
    for service in ("minio", "api"):  # exited, and never created
        assert value(found, "skid_service_up", service=service) == 0
        for name in ("skid_service_memory_used_bytes", "skid_service_memory_limit_bytes",
                     "skid_service_cpu_usage_ratio", "skid_service_pids",
                     "skid_service_network_receive_bytes_per_second"):
            assert value(found, name, service=service) is None, name
        assert value(found, "skid_service_memory_budget_maximum_bytes", service=service) == 512 * MiB
        assert {value(found, "skid_service_budget_state", service=service, state=s.value) for s in BudgetState} == {0}
    assert value(found, "skid_service_restarts_total", service="minio") == 0
    assert value(found, "skid_service_restarts_total", service="api") is None  # no container to count


def test_stack_host_engine_and_process_series():
    _, found = scraped(stack_model())
    assert value(found, "skid_engine_up") == 1
    assert value(found, "skid_engine_memory_total_bytes") == 8 * GiB
    assert value(found, "skid_stack_memory_used_bytes") == 400 * MiB
    assert value(found, "skid_stack_memory_budget_bytes") is not None
    assert found[("skid_host_memory_total_bytes", frozenset())] == 16 * GiB
    assert found[("skid_host_memory_used_bytes", frozenset())] == 4 * GiB
    if sys.platform == "linux":  # the process collector reads /proc
        assert {"process_cpu_seconds_total", "process_resident_memory_bytes"} <= names(found)


def test_types_follow_the_conventions():
    collector = StackCollector()
    registry = metrics_registry(collector)
    collector.publish(stack_model())
    types = {f.name: f.type for f in text_string_to_metric_families(generate_latest(registry).decode())}
    assert types["skid_service_oom_kills"] == types["skid_service_restarts"] == "counter"
    assert types["skid_service_memory_used_bytes"] == types["skid_service_budget_state"] == "gauge"


def test_a_scrape_reads_what_was_published_not_the_model():
    m = stack_model()
    collector = StackCollector()
    registry = metrics_registry(collector)
    assert not any(n.startswith("skid_") for n in names(series(generate_latest(registry).decode())))
    collector.publish(m)
    m.apply(StatsBatch((sample(PG.id, 400 * MiB),), "cgroup"))
    found = series(generate_latest(registry).decode())
    assert value(found, "skid_service_memory_used_bytes", service="postgres") == 300 * MiB
    collector.publish(m)
    found = series(generate_latest(registry).decode())
    assert value(found, "skid_service_memory_used_bytes", service="postgres") == 400 * MiB


def test_the_engine_lost_takes_every_service_down():
    m = stack_model()
    m.apply(EngineStatus("lost", message="gone"))
    _, found = scraped(m)
    assert value(found, "skid_engine_up") == 0
    assert value(found, "skid_service_up", service="postgres") == 0
    assert value(found, "skid_service_memory_used_bytes", service="postgres") is None


def test_a_real_scrape_over_http():
    collector = StackCollector()
    collector.publish(stack_model())
    server, thread = serve("127.0.0.1", 0, metrics_registry(collector))
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/metrics", timeout=5) as answer:
            assert answer.headers["Content-Type"].startswith("text/plain")
            found = series(answer.read().decode())
    finally:
        stop(server, thread)
    assert not thread.is_alive()
    assert value(found, "skid_service_memory_used_bytes", service="postgres") == 300 * MiB


# -- the --listen address ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "address", "shown"),
    [
        ("127.0.0.1:9108", ListenAddress("127.0.0.1", 9108), "127.0.0.1:9108"),
        ("[::1]:9108", ListenAddress("::1", 9108), "[::1]:9108"),
        ("localhost:80", ListenAddress("localhost", 80), "localhost:80"),
        ("0.0.0.0:65535", ListenAddress("0.0.0.0", 65535), "0.0.0.0:65535"),
    ],
)
def test_listen_addresses(text, address, shown):
    assert parse_listen(text) == address
    assert str(address) == shown and address.url == f"http://{shown}/metrics"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("9108", "give HOST:PORT"),
        (":9108", "the host is missing"),
        ("127.0.0.1:", "the port must be a number from 1 to 65535"),
        ("127.0.0.1:0", "the port must be a number from 1 to 65535"),
        ("127.0.0.1:65536", "the port must be a number from 1 to 65535"),
        ("127.0.0.1:http", "the port must be a number from 1 to 65535"),
        ("127.0.0.1:+80", "the port must be a number from 1 to 65535"),
        ("::1:9108", "put an IPv6 address in brackets, e.g. [::1]:9108"),
        ("[::1]9108", "write an IPv6 address as [ADDRESS]:PORT"),
        ("[::1:9108", "write an IPv6 address as [ADDRESS]:PORT"),
        ("[127.0.0.1]:9108", "is not an IPv6 address"),
        ("[]:9108", "is not an IPv6 address"),
    ],
)
def test_bad_listen_addresses_say_why(text, says):
    with pytest.raises(UsageError, match=r"^--listen ") as raised:
        parse_listen(text)
    assert says in str(raised.value)


@pytest.mark.parametrize("text", ["127.0.0.1:9108", "127.8.9.10:9108", "[::1]:9108", "localhost:9108",
                                  "[::ffff:127.0.0.1]:9108"])
def test_loopback_is_served_without_asking(text):
    assert listen_address(text) == parse_listen(text)


@pytest.mark.parametrize("text", ["0.0.0.0:9108", "[::]:9108", "192.168.1.20:9108", "[fe80::1%eth0]:9108"])
def test_beyond_loopback_needs_allow_remote(text):
    with pytest.raises(UsageError) as raised:
        listen_address(text)
    assert str(raised.value) == (f"--listen {text} is not a loopback address; add --allow-remote to serve it "
                                 f"beyond this machine")
    assert listen_address(text, allow_remote=True) == parse_listen(text)


# -- the command ----------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def metrics_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli_metrics.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_the_defaults():
    args = metrics_args()
    assert (args.listen, args.allow_remote, args.interval) == ("127.0.0.1:9108", False, 2.0)


def test_an_address_in_use_is_one_line_and_exit_2(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = cli_metrics.cmd_metrics(demo_stack(), Options(), metrics_args("--listen", f"127.0.0.1:{port}"), None)
    assert code == 2
    assert capsys.readouterr().err == f"skid: cannot listen on 127.0.0.1:{port}: address already in use\n"


def test_the_command_refuses_a_remote_address_before_listening():
    with pytest.raises(UsageError, match="add --allow-remote"):
        cli_metrics.cmd_metrics(demo_stack(), Options(), metrics_args("--listen", "0.0.0.0:9108"), None)


class FakeFeed:
    """ModelFeed's surface: a model and drain(). Each drain applies the next update; past them, Ctrl-C."""

    def __init__(self, model: LiveModel, updates: list[WatchUpdate], on_drain=None) -> None:
        self.model = model
        self.updates = list(updates)
        self.on_drain = on_drain
        self.drains = 0

    def __enter__(self) -> FakeFeed:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def drain(self, timeout: float) -> None:
        self.drains += 1
        if self.on_drain is not None:
            self.on_drain(self)
        if not self.updates:
            raise KeyboardInterrupt
        self.model.apply(self.updates.pop(0))


def test_the_command_serves_what_each_drain_publishes_until_ctrl_c(monkeypatch, capsys):
    port = free_port()
    model = stack_model()
    scrapes: list[dict] = []

    def scrape(feed: FakeFeed) -> None:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            scrapes.append(series(answer.read().decode()))

    feed = FakeFeed(model, [StatsBatch((sample(PG.id, 310 * MiB),), "cgroup")], on_drain=scrape)
    monkeypatch.setattr(cli_metrics, "LiveModel", lambda *a, **k: model)
    monkeypatch.setattr(cli_metrics, "ModelFeed", lambda *a, **k: feed)
    code = cli_metrics.cmd_metrics(demo_stack(), Options(), metrics_args("--listen", f"127.0.0.1:{port}"), None)
    assert code == 0
    assert capsys.readouterr().err == f"skid: serving metrics on http://127.0.0.1:{port}/metrics (Ctrl-C stops)\n"
    # Before the first drain: what the model held at the start; after it, the drained update.
    assert [value(s, "skid_service_memory_used_bytes", service="postgres") for s in scrapes] == [300 * MiB, 310 * MiB]
    with pytest.raises(OSError):  # the server was shut down
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1)


# -- skid monitor --json, streaming ----------------------------------------------------------------------------


def test_ndjson_one_object_per_interval_with_the_fields_of_once(capsys):
    model = stack_model()
    ticks = [StatsBatch((sample(PG.id, (300 + n) * MiB),), "cgroup") for n in (1, 2)]
    out = io.StringIO()
    with pytest.raises(KeyboardInterrupt):
        run_ndjson(FakeFeed(model, ticks), 2.0, out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    once = model.to_json()
    for line in lines:
        obj = json.loads(line)
        assert obj.keys() == once.keys()
        assert [s.keys() for s in obj["services"]] == [s.keys() for s in once["services"]]
    assert [json.loads(line)["services"][0]["mem_bytes"] for line in lines] == [300 * MiB, 301 * MiB, 302 * MiB]
    assert capsys.readouterr().err == ""


def test_ndjson_without_an_engine_says_so_and_keeps_streaming(capsys):
    stack = demo_stack()
    model = LiveModel(stack, None, host_memory=lambda: HostMemory(16 * GiB, 12 * GiB), clock=lambda: NOW)
    model.apply(EngineStatus("unreachable", message="no engine at unix:///x.sock"))
    out = io.StringIO()
    with pytest.raises(KeyboardInterrupt):
        run_ndjson(FakeFeed(model, [EngineStatus("connected", info=INFO)]), 2.0, out)
    states = [json.loads(line)["engine"]["state"] for line in out.getvalue().splitlines()]
    assert states == ["unreachable", "connected"]
    assert capsys.readouterr().err == "skid: no engine at unix:///x.sock\n"
