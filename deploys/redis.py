"""Redis 7 (group `cache`): ACL users only, maxmemory from effective memory, app hosts only.

Settings: `redis` (maxmemory_fraction, maxmemory_cap, maxmemory_policy, save, appendonly, the
app user's key/channel patterns and commands, admin_user) and the secrets
`redis_app_password` (each service's own ACL user's password is derived from it:
infra/credentials.py) and `redis_admin_password`. Redis listens on localhost, plus the host's
own address when app hosts are elsewhere (the inventory's `app` group).

Config and ACL file are owned by redis, mode 0640; the ACL file holds SHA-256 hashes, never
passwords, and `--diff` never shows it. Either changing restarts Redis; nothing else does.

With two or more cache hosts (infra/cluster.py) Redis is a master and replicas under Sentinel
(deploys/sentinel.py): the ACL file gains the cluster's users (infra/redis_ha.py), an
included file the replicas' login, and a boot fence (aktienanalyse-redis-fence.service) makes
a restarted Redis follow the master the Sentinels agree on. The first converge makes the
other cache hosts follow the first one; from then on only Sentinel moves the master.
"""

from __future__ import annotations

import hashlib
import shlex

from pydantic import SecretStr
from pyinfra import host, logger
from pyinfra.api import deploy
from pyinfra.operations import server

from facts.files import file_state
from facts.kernel import Sysctl
from facts.once import read_once
from facts.resources import EffectiveResources
from facts.snapshot import Read, file_entries, files_in
from infra.cluster import MASTER_NAME, SENTINEL_CONFIG, SENTINEL_PORT
from infra.credentials import redis_users, service_password
from infra.effects import restart_if_changed, run_if_changed
from infra.hostdata import address, cluster, members, peer_addresses, settings
from infra.operations import checked_file, ensure_service, ensure_stat_override, unit_check
from infra.redis_ha import CLUSTER_USER_RULES, CLUSTER_USERS, cluster_password
from infra.services import UNIT_DIR
from infra.settings import size_bytes
from infra.templating import put_rendered
from infra.tuning import redis_maxmemory
from infra.zabbix_items import redis_monitor_password

CONFIG_DIR = "/etc/redis"
CONFIG_FILE = f"{CONFIG_DIR}/redis.conf"
ACL_FILE = f"{CONFIG_DIR}/users.acl"
UNIT = "redis-server"
SYSCTL_FILE = "/etc/sysctl.d/60-redis.conf"
REPLICATION_FILE = f"{CONFIG_DIR}/replication.conf"
FENCE = "/usr/local/sbin/aktienanalyse-redis-fence"
FENCE_UNIT = "aktienanalyse-redis-fence.service"
FENCE_ENV = f"{CONFIG_DIR}/aktienanalyse-fence.env"


def server_accepts(staged: str) -> str:
    """A check: a throwaway redis-server loads the staged file (`staged` "config": as its
    configuration; "aclfile": as the ACL file beside the live configuration), listening only on
    a socket in a private temporary directory; it must still run after 2 s (timeout's 124).
    The staged copy is root's: Redis reads a copy in that directory. On failure Redis' own
    message is printed."""
    config, extra = (
        ('"$d/staged"', "") if staged == "config" else (CONFIG_FILE, '--aclfile "$d/staged"')
    )
    return (
        'd=$(mktemp -d) && cp {path} "$d/staged" && chown -R redis: "$d" && '
        "{ runuser -u redis -- timeout 2 redis-server "
        f'{config} --port 0 --unixsocket "$d/sock" --supervised no --daemonize no '
        f'--pidfile "$d/pid" --logfile "" --dir "$d" --save "" --appendonly no {extra} '
        '>"$d/log" 2>&1; rc=$?; [ $rc = 124 ] || cat "$d/log" >&2; rm -rf "$d"; [ $rc = 124 ]; }'
    )


def acl_digest(password: SecretStr) -> str:
    """The `#<sha256>` form Redis accepts in ACL files instead of the password."""
    return hashlib.sha256(password.get_secret_value().encode()).hexdigest()


# Installed with every other deploy's by deploys/base.py, in one apt transaction.
PACKAGES = ["redis-server"]


def facts(own) -> list[Read]:
    return [
        (EffectiveResources, {}),  # tuning
        (Sysctl, {"key": "vm.overcommit_memory"}),
        *files_in(CONFIG_DIR, "/etc/sysctl.d", UNIT_DIR),
        *(file_entries(SENTINEL_CONFIG, FENCE) if cluster().redis else []),
    ]


@deploy("Redis")
def apply() -> None:
    own = settings()
    redis = own.redis
    resources = read_once(EffectiveResources)
    cap = size_bytes(redis.maxmemory_cap) if redis.maxmemory_cap else None
    maxmemory = redis_maxmemory(resources["memory_bytes"], redis.maxmemory_fraction, cap)
    clustered = cluster().redis
    reached = peer_addresses("app") or clustered  # by app hosts, or the cluster's peers
    bind = ["127.0.0.1", "-::1"] + ([address(host)] if reached else [])
    replication_secret = own.secrets.get("redis_replication_password") if clustered else None

    _overcommit_memory()
    # Debian makes them redis's; root must not write through a path Redis controls. dpkg's
    # stat overrides keep them root's through upgrades of the package.
    for path, mode, kind in host.loop([(CONFIG_DIR, 2750, "d"), (CONFIG_FILE, 640, "f")]):
        ensure_stat_override(
            name=f"Owner of {path}", path=path, user="root", group="redis", mode=mode, kind=kind
        )
    # The ACL file first: the configuration names it, and its check loads it.
    acl = put_rendered(
        ACL_FILE,
        {
            "redis": redis,
            "service_digests": {
                user: acl_digest(service_password(own.secrets["redis_app_password"], "redis", name))
                for name, user in redis_users(redis.app_user).items()
            },
            "admin_digest": acl_digest(own.secrets["redis_admin_password"]),
            "monitor_digest": acl_digest(
                redis_monitor_password(own.secrets["redis_admin_password"])
            ),
            "cluster_users": {
                user: {
                    "digest": acl_digest(cluster_password(replication_secret, user)),
                    "rules": CLUSTER_USER_RULES[user],
                }
                for user in (CLUSTER_USERS if clustered else ())
            },
        },
        name=f"ACL users {ACL_FILE}",
        check=server_accepts("aclfile"),
        user="root",
        group="redis",
        mode=640,
        sensitive=True,
    )
    replication = None
    if clustered:
        replication = put_rendered(
            REPLICATION_FILE,
            {"password": cluster_password(replication_secret, "replication").get_secret_value()},
            user="root",
            group="redis",
            mode=640,
            sensitive=True,
        )
    config = put_rendered(
        CONFIG_FILE,
        {
            "replication_include": REPLICATION_FILE if clustered else None,
            "redis": redis,
            "bind": " ".join(bind),
            "maxmemory": maxmemory,
            "maxmemory_note": (
                f"{redis.maxmemory_fraction:g} of {resources['memory_bytes'] // 2**20} MiB "
                f"effective memory ({resources['memory_source']}), "
                f"capped at {redis.maxmemory_cap or 'nothing'}"
            ),
        },
        check=server_accepts("config"),
        user="root",
        group="redis",
        mode=640,
    )
    if clustered:  # before any restart: a rebuilt host's Redis must never serve as a master
        _fence(own, replication_secret)
    ensure_service(name="Redis running and enabled", service=UNIT, running=True, enabled=True)
    restart_if_changed(
        {"redis.conf": config, "ACL users": acl, "replication login": replication},
        name="Restart Redis (config or users changed)",
        service=UNIT,
    )
    if clustered:
        _follow_first()


def _fence(own, replication_secret) -> None:
    """The boot fence: a Redis that starts follows the master a majority of Sentinels name."""
    c = cluster()
    sentinel_password = cluster_password(replication_secret, "sentinel")
    env = checked_file(
        name=f"Sentinel login of the boot fence {FENCE_ENV}",
        dest=FENCE_ENV,
        content=f"SENTINEL_PASSWORD={sentinel_password.get_secret_value()}\n",
        user="root",
        group="root",
        mode=600,  # systemd reads it as root, before the fence drops to redis
        sensitive=True,
    )
    hosts = {h.name: h for h in [*members("cache"), *members("voter")]}
    put_rendered(
        FENCE,
        {
            "sentinels": " ".join(address(hosts[name]) for name in c.sentinels),
            "majority": len(c.sentinels) // 2 + 1,
            "sentinel_port": SENTINEL_PORT,
            "master_name": MASTER_NAME,
            "address": address(host),
        },
        mode=755,
        check="sh -n {path}",
    )
    unit = put_rendered(
        f"{UNIT_DIR}/{FENCE_UNIT}",
        {"env_file": FENCE_ENV, "platform": own.platform},
        mode=644,
        check=unit_check(FENCE_UNIT),
    )
    run_if_changed(
        {"fence unit": unit, "fence login": env},
        server.shell,
        effect="reload",
        name="Reload systemd (Redis boot fence)",
        commands=["systemctl daemon-reload"],
    )
    ensure_service(name="Redis boot fence enabled", service=FENCE_UNIT, enabled=True)


def _follow_first() -> None:
    """A cache host that was never part of the cluster follows the master a majority of
    Sentinels names (a host rebuilt in place of a lost one), or, while there is none (the
    cluster being built), the first cache host. The fence does it, its login from its
    environment file, never from a command line."""
    seed = members("cache")[0]
    if seed != host and file_state(SENTINEL_CONFIG) is None:  # never part of the cluster yet
        server.shell(
            name=f"Follow the Sentinels' master, or else the first cache host's ({seed.name})",
            commands=[
                f"set -a; . {FENCE_ENV}; set +a; "
                f"runuser -u redis -- {FENCE} {shlex.quote(address(seed))}"
            ],
        )


def _overcommit_memory() -> None:
    """Redis wants vm.overcommit_memory=1 for background saves; set it where the host may."""
    sysctl = read_once(Sysctl, key="vm.overcommit_memory")
    if sysctl["writable"]:
        server.sysctl(
            name="vm.overcommit_memory = 1 (for Redis' background saves)",
            key="vm.overcommit_memory",
            value=1,
            persist=True,
            persist_file=SYSCTL_FILE,
        )
    elif sysctl["value"] != "1":
        logger.warning(
            f"{host.name}: vm.overcommit_memory is {sysctl['value']} and this container may not "
            "change it (read-only /proc/sys). Redis background saves may fail under memory "
            "pressure; set it on the LXC host: sysctl -w vm.overcommit_memory=1"
        )
