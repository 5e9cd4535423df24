"""The offline demo stack behaves like the real one where skid looks: health, volumes, loopback ports."""

from __future__ import annotations

import socket

from skid_tui.engine.containers import read_project, service_containers


def exec_out(engine, container_id: str, *cmd: str) -> str:
    exec_id = engine.api.exec_create(container_id, list(cmd))["Id"]
    return engine.api.exec_start(exec_id).decode()


def test_postgres_volume_survives_stop_and_start_and_ports_are_loopback(engine, demo_project):
    demo_project.up("postgres", wait=True)
    [pg] = service_containers(read_project(engine, demo_project.name), demo_project.name)["postgres"]
    assert pg.health == "healthy"
    exec_out(engine, pg.id, "sh", "-c", "echo keep-me > /var/lib/postgresql/data/skid-test")
    [port] = pg.ports
    assert port.host_ip == "127.0.0.1"
    with socket.create_connection(("127.0.0.1", port.host_port), timeout=5):
        pass

    demo_project.stop("postgres")
    demo_project.up("postgres", wait=True)
    [pg] = service_containers(read_project(engine, demo_project.name), demo_project.name)["postgres"]
    assert exec_out(engine, pg.id, "cat", "/var/lib/postgresql/data/skid-test").strip() == "keep-me"
    assert exec_out(engine, pg.id, "cat", "/var/lib/postgresql/data/PG_VERSION").strip() != ""
