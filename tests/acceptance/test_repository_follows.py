"""The repository follows the primary (ha): after a switchover the backup host backs up the
new primary and archiving goes on; Patroni rebuilds a replica from the repository."""

import json

import pytest

from tests.acceptance import lab

pytestmark = [pytest.mark.journey("ha"), pytest.mark.ha]

REPOSITORY = lab.names("backup")[0] if lab.TOPOLOGY == "ha" else ""
DB = lab.names("db")
PATRONICTL = "patronictl -c /etc/patroni/15-main.yml"
PGBACKREST = "runuser -u postgres -- pgbackrest --stanza=aktienanalyse"
BACKUP_JOB = "aktienanalyse-job-postgresql-backup-diff.service"


def members() -> list[dict]:
    return json.loads(lab.ssh(DB[0], f"{PATRONICTL} list -f json").stdout)


def role_of(member: str) -> str:
    return next(m["Role"] for m in members() if m["Member"] == member)


def streaming(member: str) -> bool:
    state = lab.ssh(
        member, "runuser -u postgres -- psql -XAtq -c 'SELECT status FROM pg_stat_wal_receiver'"
    )
    return state.stdout.strip() == "streaming"


@pytest.fixture(scope="module")
def switched():
    """Switch the primary over to the other member, then run the backup job once."""
    leader = next(m["Member"] for m in members() if m["Role"] == "Leader")
    candidate = next(name for name in DB if name != leader)
    lab.ssh(
        DB[0], f"{PATRONICTL} switchover 15-main --leader {leader} --candidate {candidate} --force"
    )
    lab.wait_for(lambda: role_of(candidate) == "Leader" and streaming(leader), timeout=60)
    job = lab.ssh(
        REPOSITORY, f"systemctl start {BACKUP_JOB}; systemctl show -p Result {BACKUP_JOB}"
    )
    return {"primary": candidate, "replica": leader, "job": job.stdout.strip()}


def test_the_backup_host_backs_up_the_new_primary(switched):
    assert switched["job"] == "Result=success"


def test_the_new_primary_archives_to_the_repository(switched):
    assert lab.ssh(REPOSITORY, f"{PGBACKREST} check").returncode == 0


@pytest.fixture(scope="module")
def rebuilt(switched):
    """Patroni's reinit of the replica: it wipes the data directory and builds it again."""
    replica = switched["replica"]
    since = lab.now_on(replica)
    lab.ssh(replica, f"{PATRONICTL} reinit 15-main {replica} --force --wait")
    lab.wait_for(lambda: streaming(replica), timeout=60)
    journal = lab.ssh(replica, f"journalctl -u patroni@15-main --since '{since}' --no-pager -o cat")
    return journal.stdout


def test_patroni_builds_the_replica_from_the_repository(rebuilt):
    assert "replica has been created using pgbackrest" in rebuilt


def test_the_rebuilt_replica_streams_from_the_primary(switched, rebuilt):
    assert role_of(switched["replica"]) in ("Replica", "Sync Standby")
