"""Database hosts: PostgreSQL 15 runs (under Patroni in a cluster) and listens."""

from tests.verify import targets

testinfra_hosts = targets.hosts("db")


# Two or more db hosts: Patroni runs PostgreSQL (deploys/patroni.py).
UNIT = "patroni@15-main" if len(targets.names("db")) >= 2 else "postgresql@15-main"


def test_postgresql_runs(host):
    assert host.service(UNIT).is_running


def test_postgresql_listens(host):
    assert host.socket("tcp://127.0.0.1:5432").is_listening
