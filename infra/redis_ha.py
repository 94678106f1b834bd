"""A Redis cluster's logins and the two things only a Redis cluster does to a host: ask
its own Redis to follow a master, and write Sentinel's file once, as redis (pure apart from
the operations).

Every cluster login is derived from the secret `redis_replication_password` (as the
services' are from theirs, infra/credentials.py): `replication` (the replicas' login to their
master), `sentinel` (Sentinel's login to Redis and to the other Sentinels; it may also make
its own Redis follow a master: the boot fence), `haproxy` (HAProxy's role check). Derived
passwords are URL-safe base64: no file's syntax can be smuggled in through them.
"""

from __future__ import annotations

import hashlib
import shlex

from pydantic import SecretStr
from pyinfra.api import operation

from facts.sentinel import OWN_PASSWORD
from infra.cluster import SENTINEL_PORT
from infra.credentials import service_password
from infra.operations import with_secret_input

CLUSTER_USERS = ("replication", "sentinel", "haproxy")
# ACL rules of each cluster user (redis.io: "ACL rules for Sentinel and Replicas").
CLUSTER_USER_RULES = {
    "replication": "resetkeys resetchannels -@all +psync +replconf +ping",
    "sentinel": "resetkeys allchannels -@all +multi +slaveof +ping +exec +subscribe "
    "+config|rewrite +role +publish +info +client|setname +client|kill +script|kill",
    "haproxy": "resetkeys resetchannels -@all +ping +info",
}


def cluster_password(secret: SecretStr, user: str) -> SecretStr:
    """`user`'s password (one of CLUSTER_USERS), derived from redis_replication_password."""
    return service_password(secret, "redis-cluster", user)


@operation()
def write_once_as_redis(path: str, content: SecretStr):
    """
    Write `content` to `path` as the redis user (mode 0640), only when the file is absent:
    Sentinel rewrites its own file from then on, and root never writes where redis does.

    + path: a file in a directory of redis's own
    + content: the file (it holds a password)
    """
    target = shlex.quote(path)
    command = f"runuser -u redis -- sh -c 'umask 027; [ -e {target} ] || cat > {target}'"
    yield from with_secret_input("sentinel-conf", content.get_secret_value(), command)


# Sentinel's ACL user for the Zabbix agent: where this Sentinel sees the master, and whether
# the Sentinels can still agree on a failover; nothing that changes anything.
SENTINEL_MONITOR_USER = "zabbix"
SENTINEL_MONITOR_RULES = "-@all +ping +sentinel|get-master-addr-by-name +sentinel|ckquorum"


def sentinel_monitor_password(secret: SecretStr) -> SecretStr:
    """The Sentinel monitoring user's password, derived from redis_replication_password."""
    return service_password(secret, "redis-cluster", "sentinel-zabbix")


def sentinel_user_is(current: dict | None, password: SecretStr, rules: str) -> bool:
    """Whether SentinelUser's `current` value is an enabled user with exactly this password
    (compared as Redis keeps it, the SHA-256 hex) and these rules."""
    if current is None:
        return False
    digest = hashlib.sha256(password.get_secret_value().encode()).hexdigest()
    return (
        "on" in current["flags"]
        and current["passwords"] == [digest]
        and set(current["commands"].split()) == set(rules.split())
    )


@operation()
def sentinel_user(user: str, rules: str, password: SecretStr):
    """
    Give this host's Sentinel the ACL user `user` (ACL SETUSER, then SENTINEL FLUSHCONFIG, so
    it survives a restart: Sentinel writes its own file), logged in as Sentinel's own user
    with the password its file holds. The user's password reaches redis-cli on its standard
    input; it waits up to 10 s for a Sentinel restarted a moment ago.

    + user: the user's name
    + rules: its ACL rules
    + password: its password
    """
    script = (
        f"REDISCLI_AUTH=$({OWN_PASSWORD}); export REDISCLI_AUTH; i=0; "
        f'ask() {{ redis-cli --no-auth-warning --user sentinel -p {SENTINEL_PORT} "$@"; }}; '
        'until [ "$(ask PING 2>/dev/null)" = PONG ]; do '
        "[ $i -lt 50 ] || exit 1; i=$((i + 1)); sleep 0.2; done; "
        'answer=$(ask); [ "$answer" = "$(printf "OK\\nOK")" ] || { echo "$answer" >&2; exit 1; }'
    )
    lines = [
        f"ACL SETUSER {user} reset on >{password.get_secret_value()} {rules}",
        "SENTINEL FLUSHCONFIG",
    ]
    content = "\n".join(lines) + "\n"
    yield from with_secret_input("sentinel-user", content, f"sh -c {shlex.quote(script)}")
