"""A parameter that needs a restart (shared_buffers), changed on ha through the converge:
Patroni gets the difference, every member restarts in that same converge, and the converge
after it changes nothing.

The db hosts are converged twice with an override (AKTIENANALYSE_LAB_SETTINGS), then put back
to group_data's settings.
"""

import json

import pytest

from tests.acceptance import lab
from tools.apply import changed_operations, failed_operations, run_pyinfra

pytestmark = [pytest.mark.journey("ha"), pytest.mark.ha]

DB = lab.names("db")
RESTART_ONLY = {"shared_buffers": "256MB"}


def converge(overrides: dict | None = None) -> list[str]:
    """Converge the db hosts with `overrides`; the names of the operations that changed."""
    settings = {"postgresql": {"overrides": overrides}} if overrides else {}
    payload = run_pyinfra(
        "inventories/lab.py",
        extra=("--limit", "db"),
        env={"AKTIENANALYSE_LAB_SETTINGS": json.dumps(settings)},
    )
    assert (payload["exit_code"], failed_operations(payload)) == (0, [])
    return [name for _, name in changed_operations(payload)]


def sql(host: str, query: str) -> str:
    return lab.ssh(host, f'runuser -u postgres -- psql -XAtq -c "{query}"').stdout.strip()


def state() -> dict[str, tuple[str, str]]:
    """Each member's (start time, shared_buffers)."""
    return {
        host: (sql(host, "SELECT pg_postmaster_start_time()"), sql(host, "SHOW shared_buffers"))
        for host in DB
    }


@pytest.fixture(scope="module")
def runs():
    seen = {"before": state(), "change": converge(RESTART_ONLY)}
    seen["after"] = state()
    seen["repeat"] = converge(RESTART_ONLY)
    yield seen
    converge()


def test_every_member_runs_with_the_new_value(runs):
    assert {host: value for host, (_, value) in runs["after"].items()} == dict.fromkeys(DB, "256MB")


def test_every_member_restarted_in_the_converge_that_changed_it(runs):
    restarted = [host for host in DB if runs["after"][host][0] != runs["before"][host][0]]
    assert restarted == DB


def test_the_next_converge_changes_nothing(runs):
    assert runs["repeat"] == []
