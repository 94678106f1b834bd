"""The tuning formulas against PGTune's published outputs and the seed's 1 GiB example."""

import pytest

from infra.tuning import GB, MB, pg_size, postgresql, redis_maxmemory

GIB = 1024**3

# (memory, cpus, connections, storage) -> values PGTune printed for its "web" profile.
PGTUNE_WEB = [
    (
        (4 * GIB, 2, 200, "ssd"),
        {"shared_buffers": "1GB", "effective_cache_size": "3GB",
         "maintenance_work_mem": "256MB", "work_mem": "5242kB", "wal_buffers": "16MB",
         "random_page_cost": "1.1", "effective_io_concurrency": "200",
         "min_wal_size": "1GB", "max_wal_size": "4GB", "max_worker_processes": "2",
         "max_parallel_workers_per_gather": "1", "max_parallel_workers": "2",
         "max_parallel_maintenance_workers": "1"},
    ),
    (
        (16 * GIB, 4, 100, "ssd"),
        {"shared_buffers": "4GB", "effective_cache_size": "12GB",
         "maintenance_work_mem": "1GB", "work_mem": "20971kB", "wal_buffers": "16MB",
         "max_worker_processes": "4", "max_parallel_workers_per_gather": "2",
         "max_parallel_workers": "4", "max_parallel_maintenance_workers": "2"},
    ),
    (
        (12 * GIB, 16, 200, "ssd"),
        {"shared_buffers": "3GB", "effective_cache_size": "9GB",
         "maintenance_work_mem": "768MB", "work_mem": "3932kB", "wal_buffers": "16MB",
         "max_worker_processes": "16", "max_parallel_workers_per_gather": "4",
         "max_parallel_workers": "16", "max_parallel_maintenance_workers": "4"},
    ),
]  # fmt: skip


@pytest.mark.parametrize(("inputs", "expected"), PGTUNE_WEB)
def test_agrees_with_pgtune(inputs, expected):
    values = postgresql(*inputs)
    assert {key: values[key] for key in expected} == expected


@pytest.mark.parametrize(
    ("memory", "cpus", "shared", "cache", "maintenance", "work", "wal"),
    [
        (1 * GIB, 1, "256MB", "768MB", "64MB", "2621kB", "7864kB"),
        (2 * GIB, 1, "512MB", "1536MB", "128MB", "5242kB", "16MB"),
        (8 * GIB, 2, "2GB", "6GB", "512MB", "20971kB", "16MB"),
        (32 * GIB, 8, "8GB", "24GB", "2GB", "20971kB", "16MB"),
    ],
)
def test_table_for_100_connections(memory, cpus, shared, cache, maintenance, work, wal):
    values = postgresql(memory, cpus, 100)
    assert (
        values["shared_buffers"],
        values["effective_cache_size"],
        values["maintenance_work_mem"],
        values["work_mem"],
        values["wal_buffers"],
    ) == (shared, cache, maintenance, work, wal)


def test_seed_reference_for_1gib_shared_buffers():
    # Seed 001 §4: shared_buffers 256MB (25 %), random_page_cost 1.1, target 0.9 for 1 GiB.
    values = postgresql(1 * GIB, 1, 100)
    assert (values["shared_buffers"], values["random_page_cost"]) == ("256MB", "1.1")
    assert values["checkpoint_completion_target"] == "0.9"


def test_one_cpu_has_no_parallel_workers():
    values = postgresql(2 * GIB, 1)
    assert (values["max_parallel_workers_per_gather"], values["max_worker_processes"]) == (
        "0",
        "2",
    )


def test_hdd_profile():
    values = postgresql(2 * GIB, 2, storage="hdd")
    assert (values["random_page_cost"], values["effective_io_concurrency"]) == ("4", "2")


def test_more_connections_mean_less_work_mem():
    assert postgresql(2 * GIB, 1, 50)["work_mem"] == "10485kB"
    assert postgresql(2 * GIB, 1, 200)["work_mem"] == "2621kB"


def test_work_mem_never_below_64kb():
    assert postgresql(64 * 1024 * 1024, 1, 10000)["work_mem"] == "64kB"


@pytest.mark.parametrize(
    ("kb", "text"), [(1 * GB, "1GB"), (1536 * MB, "1536MB"), (7864, "7864kB"), (16 * MB, "16MB")]
)
def test_pg_size_formats_like_show(kb, text):
    assert pg_size(kb) == text


def test_redis_maxmemory_is_capped():
    assert redis_maxmemory(2 * GIB, 0.25, 1 * GIB) == 512 * 1024**2
    assert redis_maxmemory(32 * GIB, 0.25, 1 * GIB) == 1 * GIB
    assert redis_maxmemory(32 * GIB, 0.25, None) == 8 * GIB
