"""Firewall (every host): ports only the app hosts may use, closed to others; on app hosts,
the service instances' ports open to the lb hosts only, and other hosts' HAProxy admin
sockets for root only; on lb hosts, the own admin socket over loopback for root only. A host
in no such group gets an empty table.

PostgreSQL's pg_hba already refuses other hosts, but Redis has no notion of client
addresses, and HAProxy's internal entry (the services calling each other) and TCP admin
socket (the app hosts drain their instances through it) have no authentication; nftables
closes these ports to every host outside the inventory's `app` group. On the app hosts
themselves, only root (the switch) may connect to an lb's admin port: the service user
running the application code could otherwise drain every backend. Settings: each lb's
`haproxy.internal_port` and `haproxy.admin_port`; the allowed addresses are the other `app`
hosts'.

The rules are one table of their own (`inet aktienanalyse`), loaded and replaced by
aktienanalyse-firewall.service: the host's /etc/nftables.conf and any other table stay as
they are. The same unit loads the network namespace's sysctl (no ICMP redirects or source
routes, strict reverse-path filter, martians logged), which systemd-sysctl skips in a
container.
"""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import systemd

from facts.snapshot import Read, files_in
from infra.cluster import (
    ETCD_CLIENT_PORT,
    ETCD_PEER_PORT,
    POSTGRES_PORT,
    REDIS_PORT,
    REST_PORT,
    SENTINEL_PORT,
)
from infra.effects import reload_if_changed, run_if_changed
from infra.hostdata import (
    address,
    cluster,
    members,
    peer_addresses,
    remote_lb_admin,
    repository_host,
    settings,
)
from infra.operations import ensure_directory, ensure_service, unit_check
from infra.pgbackrest import TLS_PORT
from infra.services import UNIT_DIR, deployed
from infra.templating import put_rendered

RULES_FILE = "/etc/nftables.d/aktienanalyse.nft"
SYSCTL_FILE = "/etc/sysctl.d/60-aktienanalyse-net.conf"
UNIT = "aktienanalyse-firewall.service"


# Installed with every other deploy's by deploys/base.py, in one apt transaction.
PACKAGES = ["nftables"]


def facts(own) -> list[Read]:
    return files_in("/etc/nftables.d", "/etc/sysctl.d", UNIT_DIR)


def cluster_openings() -> list[tuple[list[int], list[str]]]:
    """(ports, the other hosts that may use them) of a PostgreSQL cluster's members: etcd's
    client port for every member and db host, its peer port for members; PostgreSQL and
    Patroni's REST API for the lb hosts (HAProxy's connections and checks) and the other db
    hosts (replication, pg_rewind, Patroni)."""
    c = cluster()
    if not c.postgresql:
        return redis_openings() + repository_openings()
    others = {h.name: address(h) for h in [*members("db"), *members("voter")] if h != host}
    openings = []
    if host.name in c.etcd_members:
        openings.append(([ETCD_CLIENT_PORT], sorted(others.values())))
        peers = [others[name] for name in c.etcd_members if name in others]
        openings.append(([ETCD_PEER_PORT], sorted(peers)))
    if "db" in host.groups:
        db_peers = [others[name] for name in c.db if name in others]
        openings.append(([POSTGRES_PORT, REST_PORT], sorted({*db_peers, *peer_addresses("lb")})))
    return openings + redis_openings() + repository_openings()


def repository_openings() -> list[tuple[list[int], list[str]]]:
    """pgBackRest's TLS server: on the backup host for the db hosts (WAL, restores), on a db
    host for the backup host (backups); certificates decide the rest (infra/pgbackrest.py)."""
    repository = repository_host()
    if repository is None or not settings().backup.enabled:
        return []
    if host == repository:
        return [([TLS_PORT], sorted(address(h) for h in members("db")))]
    if "db" in host.groups:
        return [([TLS_PORT], [address(repository)])]
    return []


def etcd_clients() -> list[str]:
    """Who on this host may connect to an etcd member's client port at all: root (the
    converge), etcd (its own gateway) and, on a db host, postgres (Patroni). Anyone else who
    could write Patroni's keys could run commands as postgres (archive_command)."""
    c = cluster()
    if not c.postgresql or host.name not in c.etcd_members:
        return []
    return ["root", "etcd", *(["postgres"] if "db" in host.groups else [])]


def redis_openings() -> list[tuple[list[int], list[str]]]:
    """A Redis cluster's: Redis for the lb hosts (HAProxy), the other cache hosts
    (replication) and the Sentinels; Sentinel's port for the other Sentinels."""
    c = cluster()
    if not c.redis:
        return []
    hosts = [*members("cache"), *members("voter")]
    sentinels = sorted({address(h) for h in hosts if h.name in c.sentinels and h != host})
    openings = []
    if "cache" in host.groups:
        openings.append(([REDIS_PORT], sorted({*sentinels, *peer_addresses("lb")})))
    if host.name in c.sentinels:
        openings.append(([SENTINEL_PORT], sentinels))
    return openings


@deploy("Firewall")
def apply() -> None:
    c = cluster()
    # In a cluster, the app hosts reach PostgreSQL and Redis through HAProxy on the lb hosts.
    by_group = {
        "db": [] if c.postgresql else [POSTGRES_PORT],
        "cache": [] if c.redis else [REDIS_PORT],
    }
    if "lb" in host.groups:  # the lb owns its internal entry and admin port
        by_group["lb"] = [settings().haproxy.internal_port, settings().haproxy.admin_port]
        by_group["lb"] += [POSTGRES_PORT] if c.postgresql else []
        by_group["lb"] += [REDIS_PORT] if c.redis else []
    ports = [
        port
        for group, group_ports in by_group.items()
        if group in host.groups
        for port in group_ports
    ]
    admin_sockets = remote_lb_admin() if "app" in host.groups else []
    instance_ports = (
        [port for _, service in deployed(settings()) for port in service.ports]
        if "app" in host.groups
        else []
    )
    ensure_directory(
        name="/etc/nftables.d", path="/etc/nftables.d", user="root", group="root", mode=755
    )
    rules = put_rendered(
        RULES_FILE,
        {
            "ports": ports,
            "app_addresses": peer_addresses("app"),
            "admin_sockets": admin_sockets,
            "instance_ports": instance_ports,
            "lb_addresses": peer_addresses("lb"),
            "local_admin_port": settings().haproxy.admin_port if "lb" in host.groups else None,
            "openings": cluster_openings(),
            "etcd_port": ETCD_CLIENT_PORT,
            "etcd_clients": etcd_clients(),
        },
        name=f"Firewall rules {RULES_FILE} (checked by nft -c)",
        check="nft -c -f {path}",
        mode=644,
    )
    network = put_rendered(SYSCTL_FILE, {}, mode=644)
    unit = put_rendered(
        f"{UNIT_DIR}/{UNIT}",
        {"rules_file": RULES_FILE, "sysctl_file": SYSCTL_FILE},
        mode=644,
        check=unit_check(UNIT),
    )
    run_if_changed(
        {"firewall unit": unit},
        systemd.daemon_reload,
        effect="reload",
        name="Reload systemd (firewall unit)",
    )
    ensure_service(name="Firewall table loaded at boot", service=UNIT, running=True, enabled=True)
    reload_if_changed(
        {"firewall rules": rules, "network sysctl": network},
        name="Reload the firewall table and network sysctl (rules changed)",
        service=UNIT,
    )
