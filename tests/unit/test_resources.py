"""Effective memory: the cgroup limit wins over the machine's MemTotal."""

from facts.resources import parse

MEMTOTAL_24G = "MemTotal:       24683520 kB"


def test_cgroup_v1_limit_wins_over_meminfo():
    lines = ["/sys/fs/cgroup/memory/memory.limit_in_bytes 2147483648", MEMTOTAL_24G, "nproc 1"]
    assert parse(lines) == {
        "memory_bytes": 2147483648,
        "memory_source": "/sys/fs/cgroup/memory/memory.limit_in_bytes",
        "cpus": 1,
    }


def test_cgroup_v2_limit_comes_first():
    lines = ["/sys/fs/cgroup/memory.max 1073741824", MEMTOTAL_24G, "nproc 2"]
    assert parse(lines)["memory_source"] == "/sys/fs/cgroup/memory.max"


def test_unlimited_cgroup_v2_falls_back_to_meminfo():
    lines = ["/sys/fs/cgroup/memory.max max", MEMTOTAL_24G, "nproc 2"]
    assert parse(lines)["memory_bytes"] == 24683520 * 1024


def test_unlimited_cgroup_v1_falls_back_to_meminfo():
    lines = ["/sys/fs/cgroup/memory/memory.limit_in_bytes 9223372036854771712", MEMTOTAL_24G,
             "nproc 2"]  # fmt: skip
    assert parse(lines)["memory_source"] == "/proc/meminfo"
