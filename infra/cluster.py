"""What the inventory makes a cluster, and the rules a cluster's hosts must keep (pure).

Two or more `db` hosts make a PostgreSQL cluster: Patroni on each, etcd as its consensus
store on every db and `voter` host (deploys/etcd.py, deploys/patroni.py); one db host keeps
plain PostgreSQL. `problems()` is called by infra/validation.py with every host's settings,
before any host is contacted; each problem is `host: file: key: reason`, never a value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from infra.pgbackrest import NAME
from infra.settings import Settings

POSTGRESQL_SECRETS = ("postgresql_superuser_password", "postgresql_replication_password")
SENTINEL_PORT = 26379
SENTINEL_CONFIG = "/var/lib/redis/aktienanalyse-sentinel.conf"  # Sentinel's own, it rewrites it
MASTER_NAME = "aktienanalyse"  # Sentinel's name for the Redis master (seed 001's)
SCOPE = "15-main"  # Debian's Patroni naming: one cluster per PostgreSQL version and name
NAMESPACE = "/postgresql-common/"  # etcd key prefix, as pg_createconfig_patroni writes it
POSTGRES_PORT = 5432
REDIS_PORT = 6379
REST_PORT = 8008  # Patroni's REST API (Debian's: 2576 + the PostgreSQL port)
ETCD_CLIENT_PORT, ETCD_PEER_PORT = 2379, 2380
ETCD_METRICS_PORT = 2381  # /health and /metrics only, on loopback: what monitoring may ask


@dataclass(frozen=True)
class Cluster:
    """The inventory's db and voter hosts, in inventory order."""

    db: tuple[str, ...]
    voters: tuple[str, ...]
    cache: tuple[str, ...] = ()
    backup: tuple[str, ...] = ()  # the pgBackRest repository's host (infra/pgbackrest.py)

    @classmethod
    def of(cls, groups: Mapping[str, Iterable[str]]) -> Cluster:
        """From {host name: its groups}, in inventory order."""
        return cls(
            db=tuple(name for name, g in groups.items() if "db" in g),
            voters=tuple(
                name for name, g in groups.items() if "voter" in g and not {"db", "cache"} & set(g)
            ),
            cache=tuple(name for name, g in groups.items() if "cache" in g),
            backup=tuple(name for name, g in groups.items() if "backup" in g),
        )

    @property
    def redis(self) -> bool:
        """Redis is a master with replicas under Sentinel (two or more cache hosts)."""
        return len(self.cache) >= 2

    @property
    def sentinels(self) -> tuple[str, ...]:
        """Who runs a Sentinel: the cache hosts and the voters, when Redis is clustered."""
        return (*self.cache, *self.voters) if self.redis else ()

    @property
    def postgresql(self) -> bool:
        """PostgreSQL is a Patroni cluster (two or more db hosts)."""
        return len(self.db) >= 2

    @property
    def etcd_members(self) -> tuple[str, ...]:
        """Who runs etcd: the db hosts and the voters, when PostgreSQL is clustered."""
        return (*self.db, *self.voters) if self.postgresql else ()


def problems(hosts: Sequence, settings: Mapping[str, Settings]) -> list[str]:
    """A cluster that cannot keep a majority, members that would be tuned apart or stand on
    one machine, and a cluster without its secrets."""
    by_name = {h.name: h for h in hosts}
    cluster = Cluster.of({h.name: h.groups for h in hosts})
    found = [
        f"{name}: {by_name[name].layers[1][0]}: groups: a voter that is also a db or cache "
        "host would cast two votes; give the voter a host of its own"
        for name in (
            h.name for h in hosts if "voter" in h.groups and {"db", "cache"} & set(h.groups)
        )
    ]
    found += _redis_problems(cluster, by_name, settings)
    found += _repository_problems(cluster, by_name, settings)
    for h in hosts:
        clustered = {"db": cluster.postgresql, "cache": cluster.redis}
        clashes = [g for g, on in clustered.items() if on and {"lb", g} <= set(h.groups)]
        if clashes:
            found.append(
                f"{h.name}: {h.layers[1][0]}: groups: an lb host that is also a "
                f"{' and '.join(clashes)} host of a cluster: HAProxy's address for the "
                "services would take the port of the server behind it; give the lb a host of "
                "its own"
            )
    if not cluster.postgresql:
        return found
    first = by_name[cluster.db[0]]
    members = len(cluster.etcd_members)
    if members < 3 or members % 2 == 0:
        found.append(
            f"{first.name}: {first.layers[1][0]}: groups: etcd would have {members} members "
            f"({len(cluster.db)} db, {len(cluster.voters)} voter); a majority survives the loss "
            "of one only with an odd number, 3 or more: add or remove a voter"
        )
    for name in cluster.db:
        host, own = by_name[name], settings[name]
        for secret in POSTGRESQL_SECRETS:
            if secret not in own.secrets:
                found.append(
                    f"{name}: {host.source('secrets')}: secrets.{secret}: required when "
                    f"{len(cluster.db)} db hosts form a cluster"
                )
        machine_file = host.source("machine") if host.has("machine") else host.layers[1][0]
        for key in ("memory", "cpus"):
            if getattr(own.machine, key) is None:
                found.append(
                    f"{name}: {machine_file}: machine.{key}: required on a cluster "
                    "member (its one tuning is computed from it)"
                )
            elif getattr(own.machine, key) != getattr(settings[first.name].machine, key):
                found.append(
                    f"{name}: {machine_file}: machine.{key}: differs from "
                    f"{first.name}'s; a cluster has one tuning, so its members must be alike"
                )
    machines: dict[tuple, str] = {}
    for name in cluster.db:
        host = by_name[name]
        where = (host.get("ssh_hostname") or host.get("address"), host.get("ssh_port") or 22)
        if where in machines:
            found.append(
                f"{name}: {host.source('ssh_hostname')}: ssh_hostname: the same machine as "
                f"{machines[where]}; a standby there survives nothing its primary does not"
            )
        machines.setdefault(where, name)
    return found


def _redis_problems(cluster: Cluster, by_name: Mapping, settings: Mapping[str, Settings]) -> list:
    """Sentinels that cannot form a majority, a quorum that is not one, a missing secret."""
    if not cluster.redis:
        return []
    found = []
    first = by_name[cluster.cache[0]]
    sentinels = len(cluster.sentinels)
    if sentinels < 3 or sentinels % 2 == 0:
        found.append(
            f"{first.name}: {first.layers[1][0]}: groups: {sentinels} Sentinels "
            f"({len(cluster.cache)} cache, {len(cluster.voters)} voter); a majority survives "
            "the loss of one only with an odd number, 3 or more: add or remove a voter"
        )
    quorum = settings[first.name].redis.sentinel_quorum
    if not sentinels // 2 < quorum <= sentinels:
        found.append(
            f"{first.name}: {first.source('redis')}: redis.sentinel_quorum: not a majority of "
            f"the {sentinels} Sentinels ({sentinels // 2 + 1} to {sentinels}): a minority could "
            "fail over while cut off from the rest"
        )
    for name in cluster.cache:
        if "redis_replication_password" not in settings[name].secrets:
            found.append(
                f"{name}: {by_name[name].source('secrets')}: secrets.redis_replication_password: "
                f"required when {len(cluster.cache)} cache hosts form a cluster"
            )
    return found


def _repository_problems(cluster: Cluster, by_name: Mapping, settings: Mapping) -> list[str]:
    """More than one repository host, one on a db host, a PostgreSQL cluster that backs up
    without one, a name pgBackRest cannot carry in a certificate."""
    found = []
    for name in cluster.backup[1:]:
        found.append(
            f"{name}: {by_name[name].layers[1][0]}: groups: a second backup host; pgBackRest's "
            f"repository is on one ({cluster.backup[0]})"
        )
    for name in cluster.backup:
        if name in cluster.db:
            found.append(
                f"{name}: {by_name[name].layers[1][0]}: groups: a backup host that is also a db "
                "host: the repository would die with the database; give it a host of its own"
            )
    if cluster.backup:
        wanted = settings[cluster.backup[0]].backup.enabled
        for name in cluster.db:
            if settings[name].backup.enabled != wanted:
                found.append(
                    f"{name}: {by_name[name].source('backup')}: backup.enabled: differs from "
                    f"the backup host {cluster.backup[0]}'s: a db host would archive to a "
                    "repository that is not there (or keep one nobody backs up)"
                )
    if cluster.postgresql and not cluster.backup:
        first = cluster.db[0]
        if settings[first].backup.enabled:
            found.append(
                f"{first}: {by_name[first].source('backup')}: backup.enabled: a PostgreSQL "
                "cluster needs a backup host for pgBackRest's repository (group backup): a "
                "repository on each member would not follow the primary"
            )
    if cluster.backup:
        for name in (*cluster.db, *cluster.backup):
            if not NAME.fullmatch(name):
                found.append(
                    f"{name}: {by_name[name].layers[1][0]}: host name: pgBackRest names hosts "
                    "in its certificates: letters, digits, '.' and '-' only, 63 at most"
                )
    return found
