"""The docker CLI's formulas on recorded stats payloads: cgroup v1, cgroup v2, Podman, first samples."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from skid_tui.engine.stats import memory_used, network_totals, online_cpus, sample_from_api

DATA = Path(__file__).parent / "data"
MiB = 1024**2


def v1() -> list[dict]:
    return json.loads((DATA / "stats_v1_docker.json").read_text())


def test_v1_memory_subtracts_total_inactive_file():
    s = v1()[1]
    mem = s["memory_stats"]
    expected = mem["usage"] - mem["stats"]["total_inactive_file"]
    assert memory_used(mem) == expected
    # A v1 payload carries both inactive_file (this cgroup) and total_inactive_file (with children):
    # docker stats uses the total one.
    mem = copy.deepcopy(mem)
    mem["stats"]["inactive_file"] = 999
    mem["stats"]["total_inactive_file"] = 4 * MiB
    assert memory_used(mem) == mem["usage"] - 4 * MiB


def test_v1_cpu_is_a_share_of_one_core():
    s = v1()[1]
    sample = sample_from_api(s, None, at=10.0, container_id="c")
    cpu, pre = s["cpu_stats"], s["precpu_stats"]
    delta = cpu["cpu_usage"]["total_usage"] - pre["cpu_usage"]["total_usage"]
    system = cpu["system_cpu_usage"] - pre["system_cpu_usage"]
    assert sample.cpu_percent == pytest.approx(delta / system * 2 * 100)
    assert 40 < sample.cpu_percent < 60  # the recorded container was a burner capped at 0.5 CPU
    assert sample.cpu_window == pytest.approx(system / 2 / 1e9)  # about a second
    assert sample.mem_limit == 64 * MiB and sample.pids == 1 and sample.source == "api"


def test_first_sample_of_a_stream_has_no_cpu_yet():
    first = v1()[0]
    assert first["precpu_stats"]["cpu_usage"]["total_usage"] == 0
    sample = sample_from_api(first, None, at=1.0, container_id="c")
    assert sample.cpu_percent is None
    assert sample.mem_used > 0


def v2_payload(total: int, system: int, pre_total: int, pre_system: int, online: int | None = 4) -> dict:
    cpu = {"cpu_usage": {"total_usage": total, "usage_in_kernelmode": 0, "usage_in_usermode": total},
           "system_cpu_usage": system}
    if online is not None:
        cpu["online_cpus"] = online
    return {
        "read": "2026-11-26T12:00:01.000000000Z",
        "memory_stats": {"usage": 300 * MiB, "limit": 512 * MiB,
                         "stats": {"anon": 200 * MiB, "file": 100 * MiB, "inactive_file": 60 * MiB,
                                   "active_file": 40 * MiB}},
        "cpu_stats": cpu,
        "precpu_stats": {"cpu_usage": {"total_usage": pre_total}, "system_cpu_usage": pre_system,
                         **({"online_cpus": online} if online else {})},
        "pids_stats": {"current": 7},
        "networks": {"eth0": {"rx_bytes": 1000, "tx_bytes": 500}, "lo": {"rx_bytes": 10**9, "tx_bytes": 10**9}},
    }


def test_v2_memory_subtracts_inactive_file_and_cpu_uses_online_cpus():
    p = v2_payload(total=2_000_000_000, system=104_000_000_000, pre_total=1_000_000_000,
                   pre_system=100_000_000_000)
    sample = sample_from_api(p, None, at=1.0, container_id="c")
    assert sample.mem_used == 240 * MiB
    assert sample.cpu_percent == pytest.approx(1e9 / 4e9 * 4 * 100)  # one full core
    assert (sample.net_rx, sample.net_tx) == (1000, 500)  # lo is not the container's traffic


def test_v2_without_online_cpus_or_percpu_counts_one_cpu():
    cpu = {"cpu_usage": {"total_usage": 1}}
    assert online_cpus(cpu) == 1
    assert online_cpus({"cpu_usage": {"percpu_usage": [1, 2, 3]}}) == 3
    assert online_cpus({"online_cpus": 8, "cpu_usage": {"percpu_usage": [1, 2]}}) == 8


def podman_payload(total: int, system: int, usage: int) -> dict:
    # Podman's compatible API: no memory_stats.stats, precpu all zero, a sample every 5 s.
    return {
        "read": "2026-11-26T12:00:05+01:00",
        "memory_stats": {"usage": usage, "limit": 256 * MiB},
        "cpu_stats": {"cpu_usage": {"total_usage": total, "percpu_usage": [total]}, "system_cpu_usage": system,
                      "online_cpus": 2},
        "precpu_stats": {"cpu_usage": {"total_usage": 0}, "system_cpu_usage": 0},
        "pids_stats": {"current": 3},
        "networks": {"eth0": {"rx_bytes": 0, "tx_bytes": 0}},
    }


def test_podman_shape_uses_our_own_previous_sample():
    first = sample_from_api(podman_payload(1_000_000_000, 50_000_000_000, 100 * MiB), None, 0.0, "c")
    assert first.cpu_percent is None  # zero precpu: nothing to compare with yet
    assert first.mem_used == 100 * MiB  # no inactive_file to subtract
    second = sample_from_api(podman_payload(3_500_000_000, 60_000_000_000, 110 * MiB), first, 5.0, "c")
    assert second.cpu_percent == pytest.approx(2.5e9 / 10e9 * 2 * 100)  # half a core over 5 s
    assert second.mem_used == 110 * MiB


def test_zero_payload_of_a_stopped_container_is_no_sample():
    payload = {"read": "0001-01-01T00:00:00Z", "memory_stats": {}, "cpu_stats": {}, "precpu_stats": {}}
    assert sample_from_api(payload, None, 0.0, "c") is None


def test_network_rates_and_counter_resets():
    a = sample_from_api(v2_payload(1, 10, 0, 0), None, 0.0, "c")
    p = v2_payload(2, 20, 1, 10)
    p["networks"]["eth0"] = {"rx_bytes": 3000, "tx_bytes": 1500}
    b = sample_from_api(p, a, 2.0, "c")
    assert (b.net_rx_bps, b.net_tx_bps) == (1000.0, 500.0)
    p["networks"]["eth0"] = {"rx_bytes": 10, "tx_bytes": 10}  # the container restarted
    c = sample_from_api(p, b, 3.0, "c")
    assert c.net_rx_bps is None and c.net_tx_bps is None


def test_network_totals_sum_every_interface_but_lo():
    assert network_totals({"eth0": {"rx_bytes": 1, "tx_bytes": 2}, "eth1": {"rx_bytes": 3, "tx_bytes": 4},
                           "lo": {"rx_bytes": 100, "tx_bytes": 100}}) == (4, 6)
    assert network_totals(None) == (0, 0)


def test_memory_never_negative_when_inactive_exceeds_usage():
    assert memory_used({"usage": 100, "stats": {"total_inactive_file": 200}}) == 100
