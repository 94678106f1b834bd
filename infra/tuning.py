"""Pure tuning formulas: PostgreSQL and Redis sizes from the memory and CPUs a host really has.

PostgreSQL follows PGTune's "web" profile (pgtune.leopard.in.ua, le0pard/pgtune), checked in
tests/unit/test_tuning.py against outputs PGTune published; Redis takes a fraction of memory.
Memory is the *effective* memory (cgroup limit first, see facts/resources.py), never the
machine's RAM that /proc/meminfo shows inside an LXC container.
"""

from __future__ import annotations

import math
import re
from typing import Literal

KB = 1
MB = 1024 * KB
GB = 1024 * MB

Storage = Literal["ssd", "hdd"]


def pg_size(kb: int) -> str:
    """Format like PostgreSQL's SHOW: the largest unit that represents the value exactly."""
    for unit, size in (("GB", GB), ("MB", MB)):
        if kb % size == 0:
            return f"{kb // size}{unit}"
    return f"{kb}kB"


def postgresql(
    memory_bytes: int, cpus: int, max_connections: int = 100, storage: Storage = "ssd"
) -> dict[str, str]:
    """postgresql.conf values for a web/OLTP workload, as PostgreSQL's SHOW prints them."""
    memory = memory_bytes // 1024  # kB
    shared_buffers = memory // 4
    wal_buffers = min(shared_buffers * 3 // 100, 16 * MB)
    if 14 * MB < wal_buffers < 16 * MB:
        wal_buffers = 16 * MB  # PGTune rounds "almost 16MB" up to the useful maximum
    wal_buffers = max(wal_buffers, 32) // 8 * 8  # whole 8kB WAL pages, at least 32kB
    per_gather = min(4, math.ceil(cpus / 2)) if cpus >= 2 else 0
    work_mem = (memory - shared_buffers) // (max_connections * 3) // max(1, per_gather)
    return {
        "max_connections": str(max_connections),
        "shared_buffers": pg_size(shared_buffers),
        "effective_cache_size": pg_size(memory * 3 // 4),
        "maintenance_work_mem": pg_size(min(memory // 16, 2 * GB)),
        "work_mem": pg_size(max(work_mem, 64)),
        "wal_buffers": pg_size(wal_buffers),
        "min_wal_size": "1GB",
        "max_wal_size": "4GB",
        "checkpoint_completion_target": "0.9",
        "default_statistics_target": "100",
        "random_page_cost": "1.1" if storage == "ssd" else "4",
        "effective_io_concurrency": "200" if storage == "ssd" else "2",
        "max_worker_processes": str(max(cpus, 2)),
        "max_parallel_workers": str(cpus),
        "max_parallel_workers_per_gather": str(per_gather),
        "max_parallel_maintenance_workers": str(per_gather),
    }


def redis_maxmemory(memory_bytes: int, fraction: float, cap_bytes: int | None) -> int:
    """Bytes Redis may use for data: a fraction of effective memory, at most `cap_bytes`."""
    wanted = int(memory_bytes * fraction)
    return min(wanted, cap_bytes) if cap_bytes else wanted


PG_UNITS = {"kB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}


def pg_memory_bytes(value: str) -> int:
    """Bytes in a PostgreSQL memory value like 512MB, 1GB or 65536 (a bare number counts
    8 kB pages, as shared_buffers does)."""
    found = re.fullmatch(r"\s*(\d+)\s*([kMGT]B)?\s*", value)
    if not found:
        return 0  # not a size: PostgreSQL's own check refuses it (deploys/postgresql.py)
    number, unit = found.groups()
    return int(number) * (PG_UNITS[unit] if unit else 8192)


def memory_overcommit(memory_bytes: int, reserved: dict[str, int]) -> str | None:
    """Why what the roles on one host reserve outright (PostgreSQL's shared_buffers, Redis'
    maxmemory) does not fit its effective memory; None when it does."""
    total = sum(reserved.values())
    if total <= memory_bytes:
        return None
    parts = ", ".join(f"{name} {size // 2**20} MiB" for name, size in sorted(reserved.items()))
    return (
        f"{parts} add up to {total // 2**20} MiB, more than the host's "
        f"{memory_bytes // 2**20} MiB of effective memory"
    )
