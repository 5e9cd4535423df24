"""ops.inspect: a container's inspect document as the inspect screen and `skid inspect` show it, secrets masked."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from rich.console import Console

from skid_tui.ops.inspect import MASK, ServiceInspect, container_inspect, is_secret, sections
from skid_tui.present import inspect_renderable

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
DOC = {
    "Id": "c0ffee" * 10 + "abcd",
    "Name": "/demo-api-1",
    "RestartCount": 3,
    "Image": "sha256:" + "ab" * 32,
    "State": {"Status": "running", "ExitCode": 0, "OOMKilled": False, "StartedAt": "2026-12-07T11:58:00.5Z",
              "FinishedAt": "2026-12-07T11:57:59Z",
              "Health": {"Status": "unhealthy", "FailingStreak": 2, "Log": [
                  {"Start": "2026-12-07T11:59:00Z", "End": "2026-12-07T11:59:01Z", "ExitCode": 0, "Output": "ok\n"},
                  {"Start": "2026-12-07T11:59:30Z", "End": "2026-12-07T11:59:31Z", "ExitCode": 1,
                   "Output": "wget: can't connect\x1b[2J\n"}]}},
    "Config": {
        "Image": "skid-demo/api:latest",
        "Cmd": ["node", "server.js"],
        "Env": ["PATH=/usr/bin", "DB_PASSWORD=hunter2", "MINIO_ACCESS_KEY=AKIA", "API_TOKEN=t0k",
                "POSTGRES_PASSWORD_FILE=/run/secrets/db", "CONFIG_FILE=/etc/app.conf", "EMPTY=",
                "LABEL=[bold]x[/bold]"],
        "Labels": {"com.docker.compose.service": "api", "evil": "\x1b]0;PWNED\x07"},
        "Healthcheck": {"Test": ["CMD", "wget", "-q", "http://127.0.0.1:8080/health"]},
    },
    "HostConfig": {"Memory": 512 << 20, "MemoryReservation": 256 << 20, "NanoCpus": 500_000_000,
                   "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 5}},
    "Mounts": [{"Type": "volume", "Name": "demo_data", "Source": "/var/lib/docker/volumes/demo_data/_data",
                "Destination": "/data", "RW": True},
               {"Type": "bind", "Source": "/home/me/conf", "Destination": "/conf", "RW": False}],
    "NetworkSettings": {"Ports": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18080"}], "9229/tcp": None},
                        "Networks": {"demo_default": {"Aliases": ["api", "demo-api-1"]}}},
}
IMAGE = {"Created": "2026-12-01T10:00:00Z"}


def test_secret_names():
    for name in ("DB_PASSWORD", "PGPASSWD", "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "MINIO_ACCESS_KEY",
                 "GOOGLE_CREDENTIALS", "REDIS_PASS", "SSH_PRIVATE", "basic_auth", "api_key"):
        assert is_secret(name), name
    for name in ("PATH", "HOME", "NODE_ENV", "CONFIG_FILE"):
        assert not is_secret(name, "/etc/x"), name
    assert is_secret("DB_FILE", "/run/secrets/db") and not is_secret("DB_FILE", "/etc/db")


def test_a_container_as_shown():
    c = container_inspect(DOC, IMAGE)
    assert c.name == "demo-api-1" and c.restart_count == 3 and c.restart_policy == "on-failure:5"
    assert c.cpus == 0.5 and c.memory_limit == 512 << 20 and c.memory_reservation == 256 << 20
    assert c.secrets() == ["DB_PASSWORD", "MINIO_ACCESS_KEY", "API_TOKEN", "POSTGRES_PASSWORD_FILE"]
    assert c.ports == ("127.0.0.1:18080->8080/tcp", "9229/tcp")
    assert c.networks == (("demo_default", ("api", "demo-api-1")),)
    assert [m.destination for m in c.mounts] == ["/data", "/conf"] and c.mounts[0].source == "demo_data"
    assert c.image_created == datetime(2026, 12, 1, 10, tzinfo=UTC)
    [overview, health, env, mounts, ports, networks, labels] = sections(c, NOW)
    rows = {r.key: r for r in overview.rows}
    assert rows["restarts"].value == "3 (policy on-failure:5)" and rows["restarts"].warn
    assert rows["image id"].value == "ab" * 6 and rows["memory"].value == "reservation 256 MiB, limit 512 MiB"
    assert rows["started"].value.endswith("(119s ago)") and "finished" not in rows
    # The healthcheck: its status, its test, the newest result first with its output.
    assert [r.key for r in health.rows][:3] == ["status", "test", "failing streak"]
    assert health.rows[1].value == "wget -q http://127.0.0.1:8080/health"
    assert health.rows[3].value.startswith("wget: can't connect") and health.rows[3].warn
    shown = {r.key: r.value for r in env.rows}
    assert shown["DB_PASSWORD"] == MASK and shown["API_TOKEN"] == MASK and shown["PATH"] == "/usr/bin"
    assert shown["CONFIG_FILE"] == "/etc/app.conf" and shown["EMPTY"] == ""
    revealed = {r.key: r.value for r in sections(c, NOW, frozenset({"API_TOKEN"}))[2].rows}
    assert revealed["API_TOKEN"] == "t0k" and revealed["DB_PASSWORD"] == MASK
    assert [r.value for r in mounts.rows] == ["volume demo_data", "bind /home/me/conf (read-only)"]
    assert [(r.key, r.value) for r in ports.rows] == [("8080/tcp", "127.0.0.1:18080"), ("9229/tcp", "not published")]
    assert networks.rows[0].value == "api, demo-api-1" and len(labels.rows) == 2


def test_json_never_holds_a_secret_unless_revealed():
    result = ServiceInspect("api", (container_inspect(DOC, IMAGE),))
    masked = json.dumps(result.to_json())
    for value in ("hunter2", "AKIA", "t0k", "/run/secrets/db"):
        assert value not in masked
    env = {v["name"]: v for v in result.to_json()["containers"][0]["env"]}
    assert env["DB_PASSWORD"] == {"name": "DB_PASSWORD", "value": None, "secret": True, "masked": True}
    assert env["PATH"]["value"] == "/usr/bin"
    assert "hunter2" in json.dumps(result.to_json(reveal=True))


def test_the_rendering_shows_text_from_the_container_as_text():
    result = ServiceInspect("api", (container_inspect(DOC, IMAGE),))
    console = Console(width=120, record=True, color_system=None, markup=False)
    console.print(inspect_renderable(result, NOW))
    out = console.export_text()
    assert "hunter2" not in out and "DB_PASSWORD" in out and MASK in out
    assert "\x1b" not in out and "^[]0;PWNED^G" in out and "^[[2J" in out
    assert "[bold]x[/bold]" in out  # markup in a value is shown, not applied
    console = Console(width=120, record=True, color_system=None)
    console.print(inspect_renderable(result, NOW, frozenset({"DB_PASSWORD"})))
    assert "hunter2" in console.export_text()
