"""infra/tuning.py's memory budget: what PostgreSQL and Redis reserve on one host."""

import pytest

from infra.tuning import memory_overcommit, pg_memory_bytes

GIB = 2**30


@pytest.mark.parametrize(
    ("value", "expected"),
    [("512MB", 512 * 2**20), ("1GB", GIB), ("65536", 65536 * 8192), ("64kB", 65536), ("x", 0)],
)
def test_postgresql_sizes(value, expected):
    assert pg_memory_bytes(value) == expected


def test_roles_that_fit_pass():
    assert memory_overcommit(2 * GIB, {"PostgreSQL": GIB // 2, "Redis": GIB}) is None


def test_roles_sharing_a_host_may_not_reserve_more_than_it_has():
    problem = memory_overcommit(2 * GIB, {"PostgreSQL shared_buffers": GIB, "Redis": 1536 << 20})
    assert problem == (
        "PostgreSQL shared_buffers 1024 MiB, Redis 1536 MiB add up to 2560 MiB, more than the "
        "host's 2048 MiB of effective memory"
    )
