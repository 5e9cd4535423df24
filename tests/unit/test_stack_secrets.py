"""Errors about values interpolated from secret-named variables quote what was written
(`'${DB_PASSWORD}'`), never the secret: sizes, CPUs, ports, suites, any field."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from skid_tui.stack import ConfigError, load_stack
from skid_tui.stack.interpolate import InterpolationError, interpolate, is_secret_name

REPO = Path(__file__).resolve().parents[2]
SECRETS = {"DB_PASSWORD": "hunter2", "API_TOKEN": "tok123", "SECRET_KEY": "s3cr3t-k3y", "db_password": "lower-case-pw"}


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def write(name: str, text: str) -> str:
    Path(name).parent.mkdir(parents=True, exist_ok=True)
    Path(name).write_text(textwrap.dedent(text).lstrip("\n"))
    return name


def issues_of(text: str, environ: dict[str, str] | None = None) -> list[str]:
    write("stack.yml", text)
    with pytest.raises(ConfigError) as info:
        load_stack(["stack.yml"], None, environ=SECRETS if environ is None else environ)
    lines = [str(i) for i in info.value.issues]
    for line in lines:
        for value in SECRETS.values():
            assert value not in line
    return lines


def test_sizes_cpus_and_ports_quote_the_source_text():
    lines = issues_of(
        """
        services:
          a:
            image: x
            mem_limit: "${DB_PASSWORD}"
            mem_reservation: ${db_password}
            cpus: "${API_TOKEN}"
            ports: ["${API_TOKEN}", "${SECRET_KEY}:80"]
            deploy:
              resources:
                limits: {memory: "${SECRET_KEY}", cpus: "${API_TOKEN}"}
                reservations: {memory: "x${DB_PASSWORD}y"}
        """
    )
    size = "(expected a number with an optional unit: b, k, kb, m, mb, g, gb)"
    assert lines == [
        f"stack.yml:4:16: malformed size '${{DB_PASSWORD}}' {size}",
        f"stack.yml:5:22: malformed size '${{db_password}}' {size}",
        "stack.yml:6:11: malformed cpus '${API_TOKEN}' (expected a number of CPUs such as 0.5)",
        "stack.yml:7:13: malformed port '${API_TOKEN}' (expected [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL])",
        "stack.yml:7:29: malformed port '${SECRET_KEY}:80' (expected [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL])",
        f"stack.yml:10:26: malformed size '${{SECRET_KEY}}' {size}",
        "stack.yml:10:49: malformed cpus '${API_TOKEN}' (expected a number of CPUs such as 0.5)",
        f"stack.yml:11:32: malformed size 'x${{DB_PASSWORD}}y' {size}",
    ]


def test_a_fragment_of_a_secret_in_a_message_is_masked():
    # the port number is the secret: "99999 is out of range" would give it away
    lines = issues_of(
        """
        services:
          a:
            image: x
            ports: ["${API_TOKEN}:80", {target: 80, published: "${API_TOKEN}"}]
        """,
        {"API_TOKEN": "99999"},
    )
    assert lines == [
        "stack.yml:4:13: malformed port '${API_TOKEN}:80': *** is out of range (expected a port from 1 to 65535)",
        "stack.yml:4:56: malformed port '${API_TOKEN}': *** is out of range (expected a host port or range)",
    ]
    assert all("99999" not in line for line in lines)


def test_other_fields_and_suites_quote_the_source_text():
    lines = issues_of(
        """
        services:
          a:
            image: x
            depends_on: ["${SECRET_KEY}"]
        x-skid-tests:
          unit:
            image: x
            command: ["true"]
            shm_size: "${DB_PASSWORD}"
        """
    )
    assert lines == [
        "stack.yml:4:18: a: depends on unknown service '${SECRET_KEY}' (expected one of: a)",
        "stack.yml:9:15: test suite 'unit': malformed size '${DB_PASSWORD}' for 'shm_size' "
        "(expected a number with an optional unit: b, k, kb, m, mb, g, gb)",
    ]


def test_a_secret_from_the_env_file_is_never_quoted():
    write(".env", "DB_PASSWORD=from-dotenv\n")
    write("stack.yml", 'services:\n  a:\n    image: x\n    mem_limit: "${DB_PASSWORD}"\n')
    with pytest.raises(ConfigError) as info:
        load_stack(["stack.yml"], None, environ={})
    (line,) = [str(i) for i in info.value.issues]
    assert "from-dotenv" not in line
    assert "malformed size '${DB_PASSWORD}'" in line


def test_a_required_variable_message_holding_a_secret_is_quoted_as_written():
    with pytest.raises(InterpolationError) as info:
        interpolate("${UNSET:?${DB_PASSWORD}}", SECRETS)
    assert info.value.message == "required variable UNSET is missing a value: ${DB_PASSWORD}"
    with pytest.raises(InterpolationError) as info:
        interpolate("${UNSET:?set it}", SECRETS)
    assert info.value.message == "required variable UNSET is missing a value: set it"


def test_values_from_other_variables_are_still_quoted():
    lines = issues_of(
        'services:\n  a:\n    image: x\n    mem_limit: "${MEM}"\n    cpus: "${DB_PASSWORD:-lots}"\n',
        {"MEM": "plenty"},
    )
    assert lines == [
        "stack.yml:4:16: malformed size 'plenty' (expected a number with an optional unit: b, k, kb, m, mb, g, gb)",
        # DB_PASSWORD is unset: the default written in the file is no secret
        "stack.yml:5:11: malformed cpus 'lots' (expected a number of CPUs such as 0.5)",
    ]


def test_interpolate_reports_which_secrets_went_into_a_value():
    secrets: dict[str, str] = {}
    assert interpolate("${API_TOKEN}-${MEM}-${SECRET_KEY:+x}", {**SECRETS, "MEM": "1g"}, None, secrets) == "tok123-1g-x"
    assert secrets == {"API_TOKEN": "tok123"}  # `:+` puts its argument in, not the secret
    assert [is_secret_name(n) for n in ("DB_PASSWORD", "api_token", "SSH_KEY", "MY_SECRET", "USER")] == [
        True, True, True, True, False
    ]


def test_the_cli_never_prints_the_secret(tmp_path):
    write(
        "stack.yml",
        """
        services:
          a:
            image: x
            mem_limit: "${DB_PASSWORD}"
            cpus: "${API_TOKEN}"
            ports: ["${API_TOKEN}"]
        """,
    )
    out = subprocess.run(
        [sys.executable, "-m", "skid_tui", "-f", "stack.yml", "check"],
        check=False, capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env={**os.environ, **SECRETS, "PYTHONPATH": str(REPO)},
    )
    assert out.returncode == 2
    assert len(out.stderr.splitlines()) == 3
    for value in SECRETS.values():
        assert value not in out.stderr + out.stdout
    assert "malformed size '${DB_PASSWORD}'" in out.stderr
