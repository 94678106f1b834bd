"""The scheduled jobs a host runs: its data services' backups plus the `jobs` setting.

Each job is a oneshot `aktienanalyse-job-<name>.service`, started by the timer of the same
name, sandboxed like the service units. Pure logic: deploys/jobs.py renders them, the
Zabbix discovery lists them (infra/zabbix_items.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from infra.services import deployed, secrets_file, service_user
from infra.settings import Settings

STANZA = "aktienanalyse"  # pgBackRest's name for the cluster
STATUS_DIR = "/var/lib/aktienanalyse-backup"  # one stamp per verified backup, read by Zabbix
PGBACKREST_DIRS = ["/var/log/pgbackrest", "/var/spool/pgbackrest"]
REDIS_COPY = "/usr/local/sbin/aktienanalyse-redis-snapshot-copy"
UNIT_PREFIX = "aktienanalyse-job-"


@dataclass(frozen=True)
class ScheduledJob:
    name: str
    schedule: str
    user: str
    group: str
    commands: list[list[str]]  # run in order; the first failure fails the job
    writable: list[str] = field(default_factory=list)
    environment_files: list[str] = field(default_factory=list)
    working_directory: str = "/"
    condition: list[str] = field(default_factory=list)  # ExecCondition: skipped when it fails

    @property
    def unit(self) -> str:
        return f"{UNIT_PREFIX}{self.name}"


def stamp(kind: str) -> str:
    """The file a successful, verified backup of `kind` touches (Zabbix: its age)."""
    return f"{STATUS_DIR}/{kind}/last-success"


def repository(settings: Settings) -> str:
    return f"{settings.backup.path}/pgbackrest"


def redis_copies(settings: Settings) -> str:
    return f"{settings.backup.path}/redis"


def _postgresql_backup(settings: Settings, kind: str, schedule: str) -> ScheduledJob:
    pgbackrest = ["pgbackrest", f"--stanza={STANZA}"]
    return ScheduledJob(
        name=f"postgresql-backup-{kind}",
        schedule=schedule,
        user="postgres",
        group="postgres",
        commands=[
            [*pgbackrest, f"--type={kind}", "backup"],
            [*pgbackrest, "verify"],  # the repository's checksums, every backup and its WAL
            ["touch", stamp("postgresql")],
        ],
        writable=[settings.backup.path, *PGBACKREST_DIRS, f"{STATUS_DIR}/postgresql"],
    )


def _setting_job(settings: Settings, name: str, job) -> ScheduledJob:
    if job.run_as == "postgres":
        return ScheduledJob(name, job.schedule, "postgres", "postgres", [list(job.command)])
    p = settings.platform
    program = job.command[0]
    if not program.startswith("/"):
        program = f"{p.base_dir}/current/{job.run_as}/bin/{program}"
    files = [f"{p.config_dir}/production.env"]
    if settings.services[job.run_as].secrets:
        files.append(secrets_file(p.config_dir, job.run_as))
    return ScheduledJob(
        name=name,
        schedule=job.schedule,
        user=service_user(p.user, job.run_as),
        group=p.user,
        commands=[[program, *job.command[1:]]],
        writable=[p.log_dir, f"{p.state_dir}/{job.run_as}"],
        environment_files=files,
        working_directory=f"{p.state_dir}/{job.run_as}",
    )


# A PostgreSQL cluster's standby skips the primary's jobs (backups, vacuum): they run on
# whichever member is the primary when they start (psql exits 1 on a standby: skipped).
ON_THE_PRIMARY = [
    "/usr/bin/psql",
    "-XAtq",
    "-v",
    "ON_ERROR_STOP=1",
    "-d",
    "postgres",
    "-c",
    "DO $$BEGIN IF pg_is_in_recovery() THEN RAISE EXCEPTION 'a standby'; END IF; END$$",
]


def host_jobs(
    settings: Settings, groups: set[str], clustered: bool = False, repository_host: bool = False
) -> list[ScheduledJob]:
    """Every job this host runs, by name; `clustered`: PostgreSQL is a Patroni cluster, so
    its jobs run only where it is the primary; `repository_host`: the inventory has a backup
    host, which backs PostgreSQL up (from whichever db host is the primary), not the db hosts."""
    jobs = []
    backup = settings.backup
    backs_up = "backup" in groups or ("db" in groups and not repository_host)
    if backup.enabled and backs_up:
        jobs.append(_postgresql_backup(settings, "full", backup.full_schedule))
        jobs.append(_postgresql_backup(settings, "diff", backup.diff_schedule))
    if backup.enabled and "cache" in groups:
        jobs.append(
            ScheduledJob(
                name="redis-snapshot-copy",
                schedule=backup.redis_schedule,
                user="redis",
                group="redis",
                commands=[[REDIS_COPY]],
                writable=[backup.path, f"{STATUS_DIR}/redis"],
            )
        )
    services = {name for name, _ in deployed(settings)} if "app" in groups else set()
    for name, job in settings.jobs.items():
        if (job.run_as == "postgres" and "db" in groups) or job.run_as in services:
            jobs.append(_setting_job(settings, name, job))
    if clustered and "db" in groups:  # the backup host's find the primary themselves
        jobs = [replace(j, condition=ON_THE_PRIMARY) if j.user == "postgres" else j for j in jobs]
    return sorted(jobs, key=lambda job: job.name)
