"""Patroni (the db hosts of a PostgreSQL cluster): PostgreSQL 15/main with automatic failover.

Nothing here runs with one db host. With two or more (infra/cluster.py), Patroni runs
PostgreSQL (`patroni@15-main`, Debian's unit; `postgresql@15-main` no longer starts it),
keeps its leader key in etcd (deploys/etcd.py) and replicates synchronously: only the
synchronous standby may be promoted, so no acknowledged commit is lost. A container has no
watchdog; what fences an old primary instead is HAProxy, which sends connections only to
the member whose Patroni answers `/primary` (deploys/haproxy.py), and synchronous mode,
which holds its commits once the standby stops following it.

Settings: `machine.memory`/`machine.cpus` (the cluster's one tuning, infra/tuning.py, equal
on every member and checked against the cgroup here), `postgresql` (max_connections,
storage, overrides), the secrets `postgresql_superuser_password` (the REST API's and pg_rewind's
role `rewind` passwords are derived from it) and `postgresql_replication_password`.

The first converge with two db hosts hands each one to Patroni (aktienanalyse-patroni-enrol):
the first db host's data become the primary, the others are cloned from it. After that the
dynamic configuration (timing, synchronous mode, every PostgreSQL parameter) belongs to
Patroni: a converge compares it with what the settings make and sends only the difference
(PATCH /config), so it never fights `patronictl edit-config`. A parameter that needs a
restart is then pending on every member, and the same converge restarts those members
through Patroni (`patronictl restart --pending`; docs/runbook.md).
"""

from __future__ import annotations

import yaml
from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import server

from facts.once import read_once
from facts.patroni import PatroniMember
from facts.postgresql import PostgresqlRuntime
from facts.resources import EffectiveResources
from facts.snapshot import Read, file_entries, files_in
from infra.cluster import NAMESPACE, REST_PORT, SCOPE
from infra.effects import reload_if_changed, run_if_changed, run_with_effect
from infra.hostdata import address, cluster, etcd_endpoints, members, repository_host, settings
from infra.operations import checked_file, ensure_directory
from infra.patroni import (
    BIN_DIR,
    ROLE_CHANGE,
    TIMING,
    changed_keys,
    config_patch,
    dynamic_configuration,
    patch_dynamic_configuration,
    patroni_config,
    rest_password,
    restart_pending_commands,
)
from infra.pgcluster import CONF_DIR, DATA_DIR, RESTART_ONLY
from infra.settings import Settings, size_bytes
from infra.templating import put_rendered

CONFIG = f"/etc/patroni/{SCOPE}.yml"
UNIT = f"patroni@{SCOPE}.service"
PLAIN_UNIT = "postgresql@15-main.service"
DROP_IN_DIR = f"/etc/systemd/system/{UNIT}.d"
UNIT_DROP_IN = f"{DROP_IN_DIR}/50-aktienanalyse.conf"
START_CONF = f"{CONF_DIR}/start.conf"
ENROL = "/usr/local/sbin/aktienanalyse-patroni-enrol"
START_TIMEOUT, CLONE_TIMEOUT = 180, 900  # seconds


def clustered() -> bool:
    return "db" in host.groups and cluster().postgresql


def seed_host():
    """The first db host: its data become the cluster's when there is none yet."""
    return members("db")[0]


def is_seed() -> bool:
    return seed_host() == host


def writes_objects() -> bool:
    """Roles, passwords and databases are made on the primary only (the standbys replay
    them): the member whose Patroni leads, or, before Patroni runs here, the seed."""
    member = read_once(PatroniMember, address=address(host))["member"]
    if member is None:
        return is_seed()
    return member.get("role") in ("master", "primary")


def machine_resources(own: Settings) -> dict:
    """The tuning's input: the declared limits, alike on every member (infra/cluster.py)."""
    return {"memory_bytes": size_bytes(own.machine.memory), "cpus": own.machine.cpus}


def packages(own) -> list[str]:
    return ["patroni", "etcd-client"] if clustered() else []


def facts(own) -> list[Read]:
    if not clustered():
        return []
    return [
        (PatroniMember, {"address": address(host)}),
        (EffectiveResources, {}),
        *file_entries("/etc/patroni", CONFIG, START_CONF, ENROL, ROLE_CHANGE, DROP_IN_DIR),
        *files_in(DROP_IN_DIR),
    ]


@deploy("Patroni")
def apply(parameters: dict[str, str]) -> None:
    """`parameters`: every PostgreSQL parameter deploys/postgresql.py computes."""
    if not clustered():
        return
    own = settings()
    found = read_once(EffectiveResources)
    if (found["memory_bytes"], found["cpus"]) != tuple(machine_resources(own).values()):
        raise SystemExit(
            f"{host.name}: machine: memory or cpus differ from the container's cgroup "
            "(facts/resources.py); the cluster's tuning would be wrong; nothing was changed"
        )
    ensure_directory(name="/etc/patroni", path="/etc/patroni", user="root", group="root", mode=755)
    config = checked_file(
        name=f"Patroni configuration {CONFIG}",
        dest=CONFIG,
        content=yaml.safe_dump(
            patroni_config(
                own,
                host.name,
                address(host),
                parameters,
                from_repository=own.backup.enabled and repository_host() is not None,
            ),
            sort_keys=False,
        ),
        user="root",
        group="postgres",
        mode=640,
        sensitive=True,  # it holds the superuser's and the replication password
    )
    checked_file(
        name=f"{START_CONF}: manual (Patroni starts PostgreSQL, not its own unit)",
        dest=START_CONF,
        content="manual\n",
        user="root",
        group="postgres",
        mode=644,
    )
    ensure_directory(name=DROP_IN_DIR, path=DROP_IN_DIR, user="root", group="root", mode=755)
    drop_in = put_rendered(UNIT_DROP_IN, {}, mode=644)
    run_if_changed(
        {"Patroni unit drop-in": drop_in},
        server.shell,
        effect="reload",
        name="Reload systemd (Patroni drop-in)",
        commands=["systemctl daemon-reload"],
    )
    put_rendered(ROLE_CHANGE, {}, mode=755, check="sh -n {path}")
    put_rendered(
        ENROL,
        {
            "unit": UNIT,
            "plain_unit": PLAIN_UNIT,
            "data_dir": DATA_DIR,
            "bin_dir": BIN_DIR,
            "key": f"{NAMESPACE}{SCOPE}/initialize",
            "endpoints": etcd_endpoints(),
            "address": address(host),
            "rest_port": REST_PORT,
            "start_timeout": START_TIMEOUT,
            "clone_timeout": CLONE_TIMEOUT,
            "settle": 2 * TIMING["loop_wait"] + 2,
            "config": CONFIG,
            "scope": SCOPE,
            "name": host.name,
            "members": [address(h) for h in members("db") if h != host],
        },
        mode=755,
        check="sh -n {path}",
    )
    member = read_once(PatroniMember, address=address(host))
    if member["member"] is None:
        server.shell(
            name="Hand PostgreSQL to Patroni (aktienanalyse-patroni-enrol)",
            commands=[f"{ENROL} {'seed' if is_seed() else 'member'}"],
        )
        return
    reload_if_changed({"Patroni configuration": config}, name="Reload Patroni", service=UNIT)
    leads = member["member"].get("role") in ("master", "primary")
    # Still pending from an earlier converge that stopped before its restart (below): the
    # primary first, then the standbys.
    for restarting in host.loop([True, False]):
        if member["member"].get("pending_restart") and leads == restarting:
            run_with_effect(
                "restart",
                server.shell,
                because=["parameters pending a restart"],
                name=f"Restart PostgreSQL (Patroni, {'primary' if restarting else 'standby'})",
                commands=[f"patronictl -c {CONFIG} restart {SCOPE} {host.name} --pending --force"],
            )
    if leads:
        patch = config_patch(member["config"], dynamic_configuration(parameters))
        if patch:
            patched = patch_dynamic_configuration(
                name=f"Patroni's dynamic configuration: {', '.join(changed_keys(patch))}",
                url=f"http://{address(host)}:{REST_PORT}/config",
                patch=patch,
                password=rest_password(own),
            )
            # Every member applies it in its next loop and marks a parameter that needs a
            # restart as pending: restart those members now (the primary, then the standbys,
            # which replay its lower values first), so the converge after this one changes
            # nothing; the operation fails unless every member then runs with none pending.
            runtime = read_once(PostgresqlRuntime)
            restart_only = runtime["restart_only"] or RESTART_ONLY
            pending = sorted(set(patch.get("postgresql", {}).get("parameters", {})) & restart_only)
            if pending:
                run_if_changed(
                    {"Patroni's dynamic configuration": patched},
                    server.shell,
                    effect="restart",
                    name=f"Restart the members for {', '.join(pending)} (Patroni)",
                    commands=restart_pending_commands(CONFIG),
                )
