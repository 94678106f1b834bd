"""Converge a host: every deploy of every group it is in, in the seeds' start order.

    pyinfra inventories/prod.py deploys/all.py

Order: base (with every deploy's Debian packages, in one apt transaction), security updates,
logrotate and the firewall (all hosts); data services (db, cache) and their backups; the
application's releases (app); HAProxy in front (lb); then the app instances HAProxy no longer
routes to are stopped; the scheduled jobs; the optional Zabbix server (monitoring); the Zabbix
agent. This file only composes.
"""

from pyinfra import host
from pyinfra.facts.server import Timezone

from deploys import (
    app,
    backup,
    base,
    firewall,
    haproxy,
    hardening,
    jobs,
    logrotate,
    monitoring,
    postgresql,
    redis,
    updates,
    zabbix,
)
from facts.accounts import Accounts
from facts.files import FilesIn
from facts.kernel import MountPoints, Sysctl
from facts.once import read_once
from facts.packages import InstalledPackages
from facts.postgresql import (
    PostgresqlExtensions,
    PostgresqlMonitoringRole,
    PostgresqlRoleVerifier,
    PostgresqlRuntime,
    PostgresqlServiceAccess,
)
from facts.releases import Releases
from facts.resources import EffectiveResources
from facts.snapshot import read_snapshot
from facts.systemd import UNIT_FILES, Units
from infra.credentials import database_roles
from infra.hostdata import settings
from infra.jobs import STANZA, STATUS_DIR, redis_copies, repository
from infra.settings import Settings, size_bytes
from infra.tuning import memory_overcommit, pg_memory_bytes, redis_maxmemory


def packages(own: Settings, groups: set[str]) -> list[str]:
    """Every Debian package this host's deploys need: base installs them in one transaction."""
    wanted = [*updates.packages(own), *logrotate.PACKAGES, *firewall.PACKAGES, *zabbix.PACKAGES,
              *hardening.PACKAGES]  # fmt: skip
    if "db" in groups:
        wanted += postgresql.packages(own)
    if "cache" in groups:
        wanted += redis.PACKAGES
    if "app" in groups:
        wanted += app.PACKAGES
    if "lb" in groups:
        wanted += haproxy.PACKAGES
    if "monitoring" in groups:
        wanted += monitoring.PACKAGES
    return wanted


def directories(own: Settings) -> list[str]:
    """The directories the deploys write to or make (facts/files.py), listed with the rest of
    the snapshot before any operation; a path elsewhere is read on its own, one entry only
    (a system directory like /etc is never listed whole)."""
    p, backup = own.platform, own.backup.path
    platform = [p.base_dir, f"{p.base_dir}/wheelhouse", p.config_dir, p.log_dir, p.state_dir]
    platform += [f"{p.state_dir}/{name}" for name in own.services]
    system = [
        "/etc/apt/apt.conf.d", "/etc/sudoers.d", "/etc/ssh/sshd_config.d", "/home",
        "/etc/security/limits.d", "/etc/default", "/etc/sysctl.d", *(f"/etc/cron.{kind}" for kind in
        ("d", "hourly", "daily", "weekly", "monthly")), "/var/lib/postgresql",
        "/etc/logrotate.d", "/etc/nftables.d", "/etc/apache2", "/etc/apache2/aktienanalyse",
        "/etc/apache2/sites-available", "/etc/apache2/sites-enabled", "/etc/apache2/mods-enabled",
        "/etc/apache2/conf-enabled",
        "/etc/systemd/system", "/etc/systemd/system/apt-daily-upgrade.timer.d", "/etc/zabbix",
        "/etc/zabbix/zabbix_agent2.d", "/usr/local/sbin", "/etc/haproxy", "/etc/haproxy/certs",
        "/etc/redis", "/etc/postgresql", "/etc/postgresql/15", "/etc/postgresql/15/main",
        "/etc/postgresql/15/main/conf.d",
        "/var/log/pgbackrest", "/var/spool/pgbackrest", STATUS_DIR, f"{STATUS_DIR}/postgresql",
        f"{STATUS_DIR}/redis", backup, repository(own), redis_copies(own),
        f"{repository(own)}/backup/{STANZA}",
    ]  # fmt: skip
    homes = [f"/home/{op.name}/.ssh" for op in own.operators]  # deploys/base.py: operators
    return sorted({*platform, *system, *homes})


def snapshot(own: Settings, groups: set[str], wanted: list[str]) -> list[tuple[type, dict]]:
    """The facts the deploys consult on this host (read_once), read before any operation in
    one command (facts/snapshot.py)."""
    facts: list[tuple[type, dict]] = [
        (Accounts, {}),
        (Units, {"files": UNIT_FILES}),
        (InstalledPackages, {"packages": sorted(wanted)}),  # infra/operations.debian_packages
        (Timezone, {}),
        *((FilesIn, {"directory": directory}) for directory in directories(own)),
    ]
    for path in ("/etc/login.defs", "/etc/issue", "/etc/issue.net", "/etc/ssh/sshd_config"):
        directory, entry = path.rsplit("/", 1)  # in directories never listed whole
        facts.append((FilesIn, {"directory": directory, "entry": entry}))
    if "db" in groups and own.backup.enabled:  # a file in /etc, which is never listed whole
        directory, entry = backup.CONFIG.rsplit("/", 1)
        facts.append((FilesIn, {"directory": directory, "entry": entry}))
    if "app" in groups:
        facts.append((Releases, app.releases_arguments(own)))
    if "db" in groups:
        pg = own.postgresql
        monitor = postgresql.MONITORING_ROLE
        facts += [
            (PostgresqlRuntime, {}),
            (PostgresqlMonitoringRole, {"role": monitor}),
            *(
                (PostgresqlRoleVerifier, {"role": role})
                for role in database_roles(pg.app_role).values()
            ),
            *((PostgresqlExtensions, {"database": name}) for name in pg.databases),
            *(
                (PostgresqlServiceAccess, postgresql.service_access_arguments(own, name))
                for name in pg.databases
            ),
        ]
    if groups & {"db", "cache"}:
        facts.append((EffectiveResources, {}))  # tuning
        if own.backup.enabled and own.backup.require_mount:
            facts.append((MountPoints, {}))
    if "cache" in groups:
        facts.append((Sysctl, {"key": "vm.overcommit_memory"}))
    return facts


def check_memory_budget(own: Settings, groups: set[str]) -> None:
    """Stop the run, naming the host, before any operation runs when what PostgreSQL and Redis
    reserve outright (with the overrides) does not fit the host's effective memory."""
    if not groups & {"db", "cache"}:
        return
    resources = read_once(EffectiveResources)
    memory = resources["memory_bytes"]
    reserved = {}
    if "db" in groups:
        values = postgresql.parameters(own, resources, "localhost")
        reserved["PostgreSQL shared_buffers"] = pg_memory_bytes(values["shared_buffers"])
    if "cache" in groups:
        cap = size_bytes(own.redis.maxmemory_cap) if own.redis.maxmemory_cap else None
        reserved["Redis maxmemory"] = redis_maxmemory(memory, own.redis.maxmemory_fraction, cap)
    problem = memory_overcommit(memory, reserved)
    if problem:
        raise SystemExit(f"{host.name}: memory budget: {problem}; nothing was changed")


own = settings()  # every host's settings valid, or the run stops before any command
groups = set(host.groups)
wanted = sorted(set(own.system.packages) | set(packages(own, groups)))
read_snapshot(snapshot(own, groups, wanted))
check_memory_budget(own, groups)
base.apply(wanted)
updates.apply()
hardening.apply()
logrotate.apply()
firewall.apply()
if "db" in groups:
    postgresql.apply()
if "cache" in groups:
    redis.apply()
backup.apply()  # db: pgBackRest's stanza; cache: where Redis' snapshots go
if "app" in groups:
    app.apply()
if "lb" in groups:
    haproxy.apply()
if "app" in groups:
    app.stop_unwanted_instances()  # after HAProxy stopped sending them requests
jobs.apply()
if "monitoring" in groups:
    monitoring.apply()  # the optional Zabbix server; `make zabbix-register` registers the agents
zabbix.apply()
