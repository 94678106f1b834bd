"""Changing PostgreSQL settings: a reload-only one reloads, shared_buffers restarts once.

The db host is converged three times with overrides (AKTIENANALYSE_LAB_SETTINGS), then put back
to group_data's settings.
"""

import json

import pytest

from tests.acceptance import lab
from tools.apply import changed_operations, failed_operations, run_pyinfra

pytestmark = pytest.mark.journey("single")

DB = lab.names("db")[0]
RELOAD_ONLY = {"log_min_duration_statement": "250ms"}
RESTART_ONLY = {**RELOAD_ONLY, "shared_buffers": "256MB"}


def converge(overrides: dict | None = None) -> list[str]:
    """Converge the db host with `overrides`; the names of the operations that changed."""
    settings = {"postgresql": {"overrides": overrides}} if overrides else {}
    payload = run_pyinfra(
        "inventories/lab.py",
        extra=("--limit", DB),
        env={"AKTIENANALYSE_LAB_SETTINGS": json.dumps(settings)},
    )
    assert (payload["exit_code"], failed_operations(payload)) == (0, [])
    return [name for _, name in changed_operations(payload)]


def sql(query: str) -> str:
    return lab.ssh(DB, f'runuser -u postgres -- psql -XAtq -c "{query}"').stdout.strip()


def start_time() -> str:
    return sql("SELECT pg_postmaster_start_time()")


@pytest.fixture(scope="module")
def runs():
    seen = {"start": start_time()}
    seen["reload_run"] = converge(RELOAD_ONLY)
    seen["after_reload"] = (start_time(), sql("SHOW log_min_duration_statement"))
    seen["restart_run"] = converge(RESTART_ONLY)
    seen["after_restart"] = (start_time(), sql("SHOW shared_buffers"))
    seen["repeat_run"] = converge(RESTART_ONLY)
    yield seen
    converge()


def restarts(run: list[str]) -> list[str]:
    return [name for name in run if "Restart PostgreSQL" in name]


def test_reload_only_change_is_live(runs):
    assert runs["after_reload"][1] == "250ms"


def test_reload_only_change_reloads(runs):
    assert [name for name in runs["reload_run"] if "Reload PostgreSQL" in name] != []


def test_reload_only_change_does_not_restart(runs):
    assert (restarts(runs["reload_run"]), runs["after_reload"][0]) == ([], runs["start"])


def test_shared_buffers_change_is_live(runs):
    assert runs["after_restart"][1] == "256MB"


def test_shared_buffers_change_restarts_once(runs):
    assert len(restarts(runs["restart_run"])) == 1
    assert runs["after_restart"][0] != runs["after_reload"][0]


def test_restart_names_its_reason(runs):
    assert "shared_buffers" in restarts(runs["restart_run"])[0]


def test_unchanged_settings_change_nothing(runs):
    assert runs["repeat_run"] == []
