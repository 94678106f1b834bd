"""Backups (deploys/backup.py, deploys/jobs.py): pgBackRest on its own mount, encrypted, its
jobs as timers; the point-in-time journey through `tools.restore`; Redis' snapshot copies.

Secrets (the cipher pass) never appear in a command line or an assertion message.
"""

import json
import time

import pytest

from infra.jobs import STANZA
from tests.acceptance import lab
from tools.apply import changed_operations, failed_operations, run_pyinfra
from tools.restore import main as restore

DB = lab.names("db")[0]
CACHE = lab.names("cache")[0]
DATABASE = "aktienanalyse_event_store"
PGBACKREST = f"runuser -u postgres -- pgbackrest --stanza={STANZA}"


def sql(query: str) -> str:
    result = lab.ssh(DB, f"runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1 -d {DATABASE}",
                     stdin=query)  # fmt: skip
    assert result.returncode == 0, result.stderr[-500:]
    return result.stdout.strip()


def backups() -> list[dict]:
    info = json.loads(lab.ssh(DB, f"{PGBACKREST} --output=json info").stdout)
    return info[0]["backup"]


def test_the_repository_is_a_mount_of_its_own():
    assert lab.ssh(DB, "findmnt -n /srv/backup").returncode == 0


def test_the_repository_is_encrypted():
    info = json.loads(lab.ssh(DB, f"{PGBACKREST} --output=json info").stdout)
    assert info[0]["cipher"] == "aes-256-cbc"


def test_the_config_holding_the_cipher_pass_is_not_world_readable():
    stat = lab.ssh(DB, "stat -c '%U:%G %a' /etc/pgbackrest.conf").stdout.split()
    assert stat == ["root:postgres", "640"]


def test_the_first_converge_took_a_full_backup():
    assert "full" in {backup["type"] for backup in backups()}


def test_wal_archiving_works():
    assert lab.ssh(DB, f"{PGBACKREST} check").returncode == 0


@pytest.mark.parametrize(
    ("group", "job"),
    [("db", "postgresql-backup-full"), ("db", "postgresql-backup-diff"),
     ("db", "postgresql-vacuum"), ("cache", "redis-snapshot-copy")],
)  # fmt: skip
def test_the_seeds_jobs_are_scheduled_timers(group, job):
    timers = lab.ssh(lab.names(group)[0], "systemctl list-timers --all --no-legend").stdout
    assert f"aktienanalyse-job-{job}.timer" in timers


@pytest.mark.journey
def test_the_vacuum_job_succeeds():
    result = lab.ssh(DB, "systemctl start aktienanalyse-job-postgresql-vacuum.service")
    assert result.returncode == 0, result.stderr[-500:]


@pytest.fixture(scope="module")
def journey():
    """Rows 1-3, a differential backup (the timer's job), rows 4-5, the noted time, the table
    dropped; then `tools.restore` to the noted time. Durations in seconds."""
    # Made as the core's migrations make tables: its role's default privileges share it.
    sql("DROP TABLE IF EXISTS pitr_probe; SET ROLE stock_analysis_intelligent_core; "
        "CREATE TABLE pitr_probe (n int PRIMARY KEY); "
        "INSERT INTO pitr_probe VALUES (1), (2), (3);")  # fmt: skip
    started = time.monotonic()
    job = lab.ssh(DB, "systemctl start aktienanalyse-job-postgresql-backup-diff.service")
    backup_seconds = time.monotonic() - started
    assert job.returncode == 0, job.stderr[-500:]
    sql("INSERT INTO pitr_probe VALUES (4), (5);")
    time.sleep(1)
    noted = sql("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', "
                "'YYYY-MM-DD\"T\"HH24:MI:SS.US') || '+00:00'")  # fmt: skip
    time.sleep(1)
    sql("DROP TABLE pitr_probe;")
    started = time.monotonic()
    code = restore(["inventories/lab.py", "--host", DB, "--confirm", DB, "--time", noted])
    restore_seconds = time.monotonic() - started
    print(f"backup (diff + verify) {backup_seconds:.1f}s, restore {restore_seconds:.1f}s")
    return {"code": code, "backup_seconds": backup_seconds, "restore_seconds": restore_seconds}


@pytest.mark.journey("split")
def test_restore_to_the_noted_time_brings_back_exactly_the_rows_before_the_drop(journey):
    assert journey["code"] == 0
    assert sql("SELECT string_agg(n::text, ',' ORDER BY n) FROM pitr_probe") == "1,2,3,4,5"


@pytest.mark.journey("split")
def test_the_database_accepts_writes_after_the_restore(journey):
    assert sql("SELECT pg_is_in_recovery()") == "f"


@pytest.mark.journey("split")
@pytest.mark.parametrize("service", sorted(lab.PORTS))
def test_the_services_are_healthy_after_the_restore(journey, service):
    for app_host in lab.names("app"):
        for _ in range(60):
            probe = (
                f"curl -fsS -o /dev/null --max-time 2 http://127.0.0.1:{lab.PORTS[service]}/health"
            )
            if lab.ssh(app_host, probe).returncode == 0:
                break
            time.sleep(1)
        assert lab.ssh(app_host, probe).returncode == 0, f"{app_host}: {service}"


@pytest.mark.journey("split")
def test_a_backup_after_the_restore_succeeds(journey):
    job = lab.ssh(DB, "systemctl start aktienanalyse-job-postgresql-backup-diff.service")
    assert job.returncode == 0, job.stderr[-500:]


@pytest.mark.journey("split")
def test_a_converge_after_the_restore_changes_nothing(journey):
    payload = run_pyinfra("inventories/lab.py", extra=("--limit", DB))
    assert (failed_operations(payload), changed_operations(payload)) == ([], [])


@pytest.mark.journey("split")
def test_a_restore_without_the_confirmation_is_refused_before_contact(journey):
    started = sql("SELECT pg_postmaster_start_time()")
    code = restore(["inventories/lab.py", "--host", DB, "--confirm", "other", "--set", "x"])
    assert code == 2
    assert sql("SELECT pg_postmaster_start_time()") == started


@pytest.mark.journey
def test_redis_snapshots_are_copied_off_the_host_and_restore():
    """Documented restore (docs/runbook.md): stop Redis, copy a snapshot back, start Redis."""
    admin = "REDISCLI_AUTH=$(cat) redis-cli --no-auth-warning --user admin"
    password = lab.secret("redis_admin_password")
    assert lab.ssh(CACHE, f"{admin} SET backup:probe kept", stdin=password).stdout.strip() == "OK"
    assert lab.ssh(CACHE, f"{admin} SAVE", stdin=password).stdout.strip() == "OK"
    job = lab.ssh(CACHE, "systemctl start aktienanalyse-job-redis-snapshot-copy.service")
    assert job.returncode == 0, job.stderr[-500:]
    lab.ssh(CACHE, f"{admin} DEL backup:probe", stdin=password)
    newest = lab.ssh(CACHE, "ls -1 /srv/backup/redis | sort | tail -n 1").stdout.strip()
    assert newest.startswith("dump-")
    steps = (
        "systemctl stop redis-server && "
        f"install -o redis -g redis -m 0660 /srv/backup/redis/{newest} /var/lib/redis/dump.rdb && "
        "systemctl start redis-server"
    )
    assert lab.ssh(CACHE, steps).returncode == 0
    for _ in range(20):
        value = lab.ssh(CACHE, f"{admin} GET backup:probe", stdin=password).stdout.strip()
        if value:
            break
        time.sleep(0.5)
    assert value == "kept"
    lab.ssh(CACHE, f"{admin} DEL backup:probe", stdin=password)


@pytest.mark.parametrize(
    ("group", "job"),
    [("db", "postgresql-backup-full"), ("db", "postgresql-vacuum"),
     ("cache", "redis-snapshot-copy")],
)  # fmt: skip
def test_a_job_is_sandboxed_like_the_services(group, job):
    unit = f"aktienanalyse-job-{job}.service"
    line = lab.ssh(lab.names(group)[0], f"systemd-analyze security {unit} | tail -1").stdout
    assert float(line.split(":")[1].split()[0]) <= 1.5
