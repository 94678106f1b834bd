"""Redis Sentinel (the cache and voter hosts of a Redis cluster): who is the Redis master.

Nothing here runs with one cache host. With two or more (infra/cluster.py) a Sentinel runs on
every cache host and every voter (three: either data host may be lost). They watch the master
named `aktienanalyse`, agree by `redis.sentinel_quorum` (a majority) that it is down after
`redis.down_after_ms`, and promote a replica (`redis.failover_timeout_ms`, one replica
resynchronised at a time). Sentinels log in to Redis and to each other as `sentinel`, with a
password derived from `redis_replication_password` (infra/redis_ha.py); Sentinel's default
user is off.

Sentinel's file (/var/lib/redis/aktienanalyse-sentinel.conf) is written once, as redis, naming
the first cache host as the master; Sentinel rewrites it from then on (its id, the replicas and
Sentinels it found, the master after a failover), so a converge never touches it again and
never fights a failover. A drop-in points Debian's unit at it.

Sentinel's ACL user `zabbix` (where this Sentinel sees the master, whether a failover could
be agreed; infra/redis_ha.py) is kept at run time (ACL SETUSER, SENTINEL FLUSHCONFIG, logged in
with the password Sentinel's file holds), so it reaches a Sentinel whose file was written
before it, and follows a rotated secret.
"""

from __future__ import annotations

from pydantic import SecretStr
from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import server

from facts.files import file_state
from facts.once import read_once
from facts.sentinel import SentinelUser
from facts.snapshot import Read, file_entries, files_in
from infra.cluster import MASTER_NAME, SENTINEL_CONFIG, SENTINEL_PORT
from infra.effects import run_if_changed
from infra.hostdata import address, cluster, members, settings
from infra.operations import ensure_directory, ensure_service
from infra.redis_ha import (
    SENTINEL_MONITOR_RULES,
    SENTINEL_MONITOR_USER,
    cluster_password,
    sentinel_monitor_password,
    sentinel_user,
    sentinel_user_is,
    write_once_as_redis,
)
from infra.services import UNIT_DIR
from infra.templating import put_rendered, render

UNIT = "redis-sentinel.service"
DROP_IN_DIR = f"{UNIT_DIR}/{UNIT}.d"
DROP_IN = f"{DROP_IN_DIR}/50-aktienanalyse.conf"


def member() -> bool:
    return host.name in cluster().sentinels


def packages(own) -> list[str]:
    return ["redis-sentinel"] if member() else []


def facts(own) -> list[Read]:
    if not member():
        return []
    user = (SentinelUser, {"user": SENTINEL_MONITOR_USER})
    return [*file_entries(SENTINEL_CONFIG, DROP_IN_DIR), *files_in(DROP_IN_DIR), user]


@deploy("Redis Sentinel")
def apply() -> None:
    if not member():
        return
    seed = members("cache")[0]
    secret = settings(seed).secrets["redis_replication_password"]
    password = cluster_password(secret, "sentinel").get_secret_value()
    redis = settings(seed).redis
    written = None
    if file_state(SENTINEL_CONFIG) is None:
        content = render(
            SENTINEL_CONFIG,
            port=SENTINEL_PORT,
            address=address(host),
            password=password,
            name=MASTER_NAME,
            master=address(seed),
            quorum=redis.sentinel_quorum,
            down_after_ms=redis.down_after_ms,
            failover_timeout_ms=redis.failover_timeout_ms,
        )
        written = write_once_as_redis(
            name=f"Sentinel's file {SENTINEL_CONFIG} (once; Sentinel keeps it from then on)",
            path=SENTINEL_CONFIG,
            content=SecretStr(content),
        )
    ensure_directory(name=DROP_IN_DIR, path=DROP_IN_DIR, user="root", group="root", mode=755)
    drop_in = put_rendered(DROP_IN, {"config": SENTINEL_CONFIG}, mode=644)
    run_if_changed(
        {"Sentinel's unit drop-in": drop_in, "Sentinel's file": written},
        server.shell,
        effect="restart",
        name="Restart Sentinel (its unit or file changed)",
        commands=["systemctl daemon-reload", f"systemctl restart {UNIT}"],
    )
    ensure_service(name="Sentinel running and enabled", service=UNIT, running=True, enabled=True)
    monitor_password = sentinel_monitor_password(secret)
    current = read_once(SentinelUser, user=SENTINEL_MONITOR_USER)
    if not sentinel_user_is(current, monitor_password, SENTINEL_MONITOR_RULES):
        sentinel_user(
            name=f"Sentinel's ACL user {SENTINEL_MONITOR_USER} (monitoring: read only)",
            user=SENTINEL_MONITOR_USER,
            rules=SENTINEL_MONITOR_RULES,
            password=monitor_password,
        )
