"""The cgroup fast path on fake /proc and /sys trees: cgroup v1, v2, the container-id guard, failures."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from skid_tui.engine.cgroups import (
    CgroupReader,
    locate,
    net_dev_totals,
    parse_mountinfo,
    parse_proc_cgroup,
    stat_value,
)

CID = "af0fbb055b09325d234308b8f3378cf62db72d060c65969f9d8dcee59e9ab737"
MiB = 1024**2

MOUNTINFO_V1 = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / {root}/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / {root}/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / {root}/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / {root}/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / {root}/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / {root}/unified rw,relatime - cgroup2 cgroup2 rw
"""
PROC_CGROUP_V1 = f"""\
9:name=systemd:/docker/{CID}
8:pids:/docker/{CID}
4:memory:/docker/{CID}
2:cpuacct:/docker/{CID}
1:cpu:/docker/{CID}
0::/docker/{CID}
"""
NET_DEV = b"""Inter-|   Receive                                   |  Transmit
 face |bytes packets errs drop fifo frame compressed multicast|bytes packets errs drop fifo colls carrier compressed
    lo: 999999 10 0 0 0 0 0 0 999999 10 0 0 0 0 0 0
  eth0:   1000 10 0 0 0 0 0 0    500  5 0 0 0 0 0 0
"""


def write(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())


def fake_v1(tmp: Path, limit: str = str(64 * MiB)) -> tuple[Path, str]:
    root = tmp / "cgroup"
    proc = tmp / "proc"
    write(proc / "42" / "cgroup", PROC_CGROUP_V1)
    write(proc / "42" / "net" / "dev", NET_DEV)
    mem = root / "memory" / "docker" / CID
    write(mem / "memory.usage_in_bytes", f"{50 * MiB}\n")
    write(mem / "memory.stat", f"cache 1000\ninactive_file 7\ntotal_cache 1000\ntotal_inactive_file {2 * MiB}\n")
    write(mem / "memory.limit_in_bytes", f"{limit}\n")
    write(root / "cpuacct" / "docker" / CID / "cpuacct.usage", "1000000000\n")
    write(root / "pids" / "docker" / CID / "pids.current", "3\n")
    return proc, MOUNTINFO_V1.format(root=root)


def test_parse_mountinfo_and_proc_cgroup():
    mounts = parse_mountinfo(MOUNTINFO_V1.format(root="/sys/fs/cgroup"))
    assert mounts["memory"].point == Path("/sys/fs/cgroup/memory")
    assert mounts["unified"].point == Path("/sys/fs/cgroup/unified")
    assert "name=systemd" not in mounts and "rw" not in mounts
    paths = parse_proc_cgroup(PROC_CGROUP_V1)
    assert paths["memory"] == f"/docker/{CID}" and paths["unified"] == f"/docker/{CID}"


def test_v1_reads_match_the_docker_cli_formulas(tmp_path):
    proc, mountinfo = fake_v1(tmp_path)
    paths = locate(42, CID, proc=proc, mountinfo=mountinfo)
    assert paths.version == 1
    reader = CgroupReader(CID, paths, mem_total=8 * 1024 * MiB)
    time.sleep(0.12)
    write(paths.cpu_usage, "1060000000\n")  # +60 ms of CPU
    s = reader.read()
    assert s.mem_used == 48 * MiB  # usage - total_inactive_file, not inactive_file
    assert s.mem_limit == 64 * MiB and s.pids == 3
    assert (s.net_rx, s.net_tx) == (1000, 500)  # lo left out
    assert s.cpu_percent is not None and 5 < s.cpu_percent < 55  # 60 ms over >= 120 ms of wall time
    assert s.source == "cgroup"
    reader.close()


def test_v1_unlimited_container_reports_the_engine_memory(tmp_path):
    proc, mountinfo = fake_v1(tmp_path, limit="9223372036854771712")
    reader = CgroupReader(CID, locate(42, CID, proc=proc, mountinfo=mountinfo), mem_total=8 * 1024 * MiB)
    assert reader.read().mem_limit == 8 * 1024 * MiB
    reader.close()


def test_readings_too_close_together_give_no_cpu(tmp_path):
    proc, mountinfo = fake_v1(tmp_path)
    reader = CgroupReader(CID, locate(42, CID, proc=proc, mountinfo=mountinfo), mem_total=1)
    assert reader.read().cpu_percent is None  # milliseconds after the first reading
    reader.close()


def test_v2(tmp_path):
    root, proc = tmp_path / "cg2", tmp_path / "proc"
    scope = f"/system.slice/docker-{CID}.scope"
    write(proc / "7" / "cgroup", f"0::{scope}\n")
    write(proc / "7" / "net" / "dev", NET_DEV)
    base = root / scope.lstrip("/")
    write(base / "memory.current", f"{300 * MiB}\n")
    write(base / "memory.stat", f"anon {200 * MiB}\nfile {100 * MiB}\ninactive_file {60 * MiB}\n")
    write(base / "memory.max", "max\n")
    write(base / "cpu.stat", "usage_usec 5000\nuser_usec 4000\nsystem_usec 1000\n")
    write(base / "pids.current", "9\n")
    mountinfo = f"30 1 0:26 / {root} rw - cgroup2 cgroup2 rw,nsdelegate\n"
    paths = locate(7, CID, proc=proc, mountinfo=mountinfo)
    assert paths.version == 2
    reader = CgroupReader(CID, paths, mem_total=4 * 1024 * MiB)
    s = reader.read()
    assert s.mem_used == 240 * MiB and s.mem_limit == 4 * 1024 * MiB and s.pids == 9
    assert s.cpu_total_ns == 5_000_000
    reader.close()


def test_a_pid_outside_the_container_is_refused(tmp_path):
    proc, mountinfo = fake_v1(tmp_path)
    with pytest.raises(LookupError):
        locate(42, "0" * 64, proc=proc, mountinfo=mountinfo)  # the PID's cgroup names another container
    with pytest.raises(LookupError):
        locate(0, CID, proc=proc, mountinfo=mountinfo)
    with pytest.raises(OSError):
        locate(4242, CID, proc=proc, mountinfo=mountinfo)


def test_reading_a_vanished_cgroup_fails_loudly(tmp_path):
    proc, mountinfo = fake_v1(tmp_path)
    reader = CgroupReader(CID, locate(42, CID, proc=proc, mountinfo=mountinfo), mem_total=1)
    write(reader.paths.mem_usage, "")  # the kernel answers nothing once the cgroup is gone
    with pytest.raises((OSError, ValueError)):
        reader.read()
    reader.close()


def test_stat_value_and_net_dev():
    text = b"cache 1\ntotal_inactive_file 42\ninactive_file 7\n"
    assert stat_value(text, b"total_inactive_file") == 42
    assert stat_value(text, b"inactive_file") == 7
    assert stat_value(b"usage_usec 5\n", b"usage_usec") == 5
    assert stat_value(text, b"missing") == 0
    assert net_dev_totals(NET_DEV) == (1000, 500)
