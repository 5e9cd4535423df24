"""Containers from recorded inspect documents, matched to services by compose labels only."""

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from skid_tui.engine.containers import (
    PublishedPort,
    parse_engine_time,
    parse_ports,
    service_containers,
    snapshot_from_inspect,
)

DATA = Path(__file__).parent / "data"


def load(name: str) -> dict:
    return json.loads((DATA / name).read_text())


def test_running_docker_container():
    c = snapshot_from_inspect(load("inspect_docker_running.json"))
    assert (c.project, c.service, c.number, c.oneoff) == ("rec", "redis", 1, False)
    assert (c.state, c.health, c.exit_code, c.oom_killed) == ("running", "healthy", 0, False)
    assert c.name == "rec_redis_1" and c.short_id == c.id[:12] and c.is_running
    assert c.started_at == datetime(2026, 11, 26, 22, 21, 50, 263119, tzinfo=UTC)
    assert c.finished_at is None
    assert c.ports == (PublishedPort(6379, "tcp", "127.0.0.1", 16379),)
    assert str(c.ports[0]) == "127.0.0.1:16379→6379/tcp"


def test_exited_docker_container():
    c = snapshot_from_inspect(load("inspect_docker_exited.json"))
    assert (c.state, c.exit_code, c.is_running) == ("exited", 137, False)
    assert c.finished_at is not None and c.ports == ()


def test_podman_shape_healthcheck_key_and_offset_times():
    doc = load("inspect_docker_running.json")
    doc["State"]["Healthcheck"] = doc["State"].pop("Health")
    doc["State"]["StartedAt"] = "2026-11-26T23:21:50.263119357+01:00"
    c = snapshot_from_inspect(doc)
    assert c.health == "healthy"
    assert c.started_at == datetime(2026, 11, 26, 22, 21, 50, 263119, tzinfo=UTC)


def test_no_healthcheck_and_no_labels():
    doc = load("inspect_docker_running.json")
    del doc["State"]["Health"]
    doc["Config"]["Labels"] = None
    c = snapshot_from_inspect(doc)
    assert c.health is None and c.service == "" and c.project == ""


def test_engine_times():
    assert parse_engine_time("0001-01-01T00:00:00Z") is None
    assert parse_engine_time("") is None
    assert parse_engine_time("garbage") is None
    assert parse_engine_time("2026-01-02T03:04:05Z") == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_ports_dedupe_ipv4_and_ipv6_and_skip_unpublished():
    ports = parse_ports({
        "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}, {"HostIp": "::", "HostPort": "8080"}],
        "9000/tcp": None,
        "53/udp": [{"HostIp": "", "HostPort": "5353"}],
    })
    assert [str(p) for p in ports] == ["5353→53/udp", "8080→80/tcp"]


def test_services_are_matched_by_labels_never_by_name():
    base = snapshot_from_inspect(load("inspect_docker_running.json"))
    a = replace(base, id="a", name="totally_unrelated_name", service="redis", number=2)
    b = replace(base, id="b", name="skid-demo-postgres-1", service="redis", number=1)
    other_project = replace(base, id="c", project="someone-else", service="redis")
    oneoff = replace(base, id="d", oneoff=True, service="redis")
    unlabelled = replace(base, id="e", service="")
    named_like_postgres = replace(base, id="f", name="rec_postgres_1", service="minio")
    grouped = service_containers([a, b, other_project, oneoff, unlabelled, named_like_postgres], "rec")
    assert {k: [c.id for c in v] for k, v in grouped.items()} == {"redis": ["b", "a"], "minio": ["f"]}
