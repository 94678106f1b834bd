"""Converge a host: every deploy of every group it is in, in the seeds' start order.

    pyinfra inventories/prod.py deploys/all.py

Order: base (with every deploy's Debian packages, in one apt transaction), security updates,
logrotate and the firewall (all hosts); etcd (a PostgreSQL cluster's members); data services
and their backups (db, then pgBackRest, then Patroni in a cluster; cache); HAProxy in front
(lb); the application's releases (app); then the app instances HAProxy does not route to are
stopped; the scheduled jobs; the optional Zabbix server (monitoring); the Zabbix agent.
This file only composes.
"""

from pyinfra import host

from deploys import (
    app,
    backup,
    base,
    etcd,
    firewall,
    haproxy,
    hardening,
    jobs,
    logrotate,
    monitoring,
    patroni,
    postgresql,
    redis,
    sentinel,
    updates,
    zabbix,
)
from facts.once import read_once
from facts.resources import EffectiveResources
from facts.snapshot import read_snapshot
from infra.effects import record_failures
from infra.hostdata import settings
from infra.operations import barrier
from infra.settings import Settings, size_bytes
from infra.tuning import memory_overcommit, pg_memory_bytes, redis_maxmemory

# Each deploy with the group it serves (None: every host), in the order they run. Each
# declares its Debian packages (PACKAGES or packages()) and what it reads (facts()).
DEPLOYS = [
    (updates, None),
    (hardening, None),
    (logrotate, None),
    (firewall, None),
    (etcd, None),  # the members of a PostgreSQL cluster only (deploys/etcd.py)
    (postgresql, "db"),
    (backup, None),
    (patroni, "db"),  # with two or more db hosts only
    (redis, "cache"),
    (sentinel, None),  # the cache and voter hosts of a Redis cluster only
    (haproxy, "lb"),
    (app, "app"),
    (jobs, None),
    (monitoring, "monitoring"),
    (zabbix, None),
]


def host_deploys(groups: set[str]) -> list:
    return [deploy for deploy, group in DEPLOYS if group is None or group in groups]


def packages(own: Settings, groups: set[str]) -> list[str]:
    """Every Debian package this host's deploys need: base installs them in one transaction."""
    wanted = list(own.system.packages)
    for deploy in [base, *host_deploys(groups)]:
        wanted += deploy.packages(own) if hasattr(deploy, "packages") else deploy.PACKAGES
    return sorted(set(wanted))


def reads(own: Settings, groups: set[str], wanted: list[str]) -> list:
    """What this host's deploys read, each deploy's own declaration (facts())."""
    declared = base.facts(own, wanted)
    for deploy in host_deploys(groups):
        declared += deploy.facts(own)
    return declared


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
record_failures()  # for tools/apply.py's summary, when it keeps a record
groups = set(host.groups)
wanted = packages(own, groups)
read_snapshot(reads(own, groups, wanted))  # in one command, before any operation
check_memory_budget(own, groups)
base.apply(wanted)
updates.apply()
hardening.apply()
logrotate.apply()
firewall.apply()
etcd.apply()
primary = "db" in groups and (not patroni.clustered() or patroni.writes_objects())
if "db" in groups:
    postgresql.apply(patroni.clustered(), writes_objects=primary)
# pgBackRest (db, backup) before Patroni, which builds a new member from the repository;
# where Redis' snapshots go (cache).
backup.apply()
if "db" in groups and patroni.clustered():
    patroni.apply(postgresql.parameters(own, patroni.machine_resources(own), "*"))
if "cache" in groups:
    redis.apply()
sentinel.apply()
# pyinfra orders operations per host only: the releases (their migrations and health gates)
# must find the data services ready on the other hosts, PostgreSQL handed to Patroni included.
barrier(name="Data services ready on every host", reason="data services converged")
backup.first_backup()  # where the repository is, once: the db hosts' TLS servers are up
# HAProxy before the releases: the services' database and cache addresses may be HAProxy's
# (a cluster), so a migration or health gate needs it; an instance it does not know yet is
# DOWN until it answers its health check.
if "lb" in groups:
    haproxy.apply()
if "app" in groups:
    app.apply()
    app.stop_unwanted_instances()  # after HAProxy stopped sending them requests
jobs.apply()
if "monitoring" in groups:
    monitoring.apply()  # the optional Zabbix server; `make zabbix-register` registers the agents
zabbix.apply()
