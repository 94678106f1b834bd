"""Database hosts: PostgreSQL 15 runs and listens."""

from tests.verify import targets

testinfra_hosts = targets.hosts("db")


def test_postgresql_runs(host):
    assert host.service("postgresql@15-main").is_running


def test_postgresql_listens(host):
    assert host.socket("tcp://127.0.0.1:5432").is_listening
