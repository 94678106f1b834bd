"""The Zabbix items of the platform, declared once (USER_PARAMETERS).

The agent's UserParameter file (deploys/zabbix.py) and the Zabbix 6.0 template in zabbix/
(infra/zabbix_template.py, `python -m tools.zabbix_template`) are both generated from it; a
unit test fails when the committed template differs.
"""

from __future__ import annotations

import hmac
import shlex
from collections.abc import Sequence

from pydantic import SecretStr

from infra.cluster import (
    ETCD_METRICS_PORT,
    MASTER_NAME,
    POSTGRES_PORT,
    REDIS_PORT,
    REST_PORT,
    SCOPE,
    SENTINEL_PORT,
)
from infra.jobs import STATUS_DIR, host_jobs, stamp
from infra.services import deployed, instance_units
from infra.settings import Platform, Settings

LOG_DIR = "{log_dir}"  # `platform.log_dir`, filled in by user_parameters_text
DB_ADDRESSES = "{db_addresses}"  # a cluster's db hosts, filled in by user_parameters_text
CACHE_ADDRESSES = "{cache_addresses}"  # a Redis cluster's cache hosts, likewise
REDIS_PASSWORD_FILE = "/etc/zabbix/aktienanalyse-redis.pass"
SENTINEL_PASSWORD_FILE = "/etc/zabbix/aktienanalyse-sentinel.pass"
_MONITOR_CONTEXT = b"aktienanalyse: the Zabbix agent's Redis password"
_PSQL = "psql -XAtq -d postgres -c"
# A [*] key's parameter comes from the server. The agent refuses quotes and shell syntax in it
# (UnsafeUserParameters=0) but not spaces, dashes or slashes: each command takes only the
# characters its discovery hands out, and fails (the item goes unsupported) on anything else.
_ONLY_DIGITS = 'case "$1" in ""|*[!0-9]*) exit 1 ;; esac; '
_ONLY_NAME = 'case "$1" in ""|*[!a-z0-9-]*) exit 1 ;; esac; '
_ONLY_IDENTIFIER = 'case "$1" in ""|*[!a-z0-9_]*) exit 1 ;; esac; '

_PSQL_PORT = f'{_ONLY_DIGITS}psql -XAtq -d postgres -p "$1" -c'
_REDIS_INFO = (
    f'{_ONLY_DIGITS}REDISCLI_AUTH="$(cat {REDIS_PASSWORD_FILE})" redis-cli '
    '--no-auth-warning --user zabbix -p "$1" INFO'
)
MIGRATION = "aktienanalyse-migration"  # a oneshot: inactive once done, judged by its result

# The keys the agent answers (AllowKey, first match wins; then DenyKey=*): ours and the stock
# "Linux by Zabbix agent" template's. Not vfs.file.contents, vfs.dir, log[] or system.run:
# whoever controls the Zabbix server must not read this host's files or run commands. A
# pattern without brackets matches a key without parameters only, hence both forms.
_ALLOWED_NAMES = [
    "agent.*",
    "aktienanalyse.*",
    "kernel.*",
    "net.if.*",
    "proc.num",
    "system.boottime",
    "system.cpu.*",
    "system.hostname",
    "system.localtime",
    "system.sw.*",
    "system.swap.*",
    "system.uname",
    "system.uptime",
    "system.users.num",
    "systemd.unit.*",
    "vfs.dev.*",
    "vfs.fs.*",
    "vm.memory.*",
]
ALLOWED_KEYS = [
    *(key for name in _ALLOWED_NAMES for key in (name, f"{name}[*]")),
    "vfs.file.cksum[/etc/passwd,sha256]",
    f"vfs.file.time[{STATUS_DIR}/*,modify]",
    "web.certificate.get[localhost,*]",
]

# key -> (command, item name, Zabbix value type). `$1` is the key's first parameter.
USER_PARAMETERS: dict[str, tuple[str, str, str]] = {
    "aktienanalyse.discovery": (
        "cat /etc/zabbix/aktienanalyse-discovery.json",
        "aktienanalyse units",
        "TEXT",
    ),
    "aktienanalyse.log.errors[*]": (
        f'{_ONLY_NAME}cat {LOG_DIR}/"$1".log 2>/dev/null'
        " | awk '/ERROR/ {n++} END {print n+0}'",
        "{#UNIT}: log errors",
        "UNSIGNED",
    ),
    "aktienanalyse.log.warnings[*]": (
        f'{_ONLY_NAME}cat {LOG_DIR}/"$1".log 2>/dev/null'
        " | awk '/WARNING/ {n++} END {print n+0}'",
        "{#UNIT}: log warnings",
        "UNSIGNED",
    ),
    "aktienanalyse.jobs.discovery": (
        "cat /etc/zabbix/aktienanalyse-jobs.json",
        "aktienanalyse scheduled jobs",
        "TEXT",
    ),
    "aktienanalyse.daemons.discovery": (
        "cat /etc/zabbix/aktienanalyse-daemons.json",
        "aktienanalyse data and edge daemons",
        "TEXT",
    ),
    "aktienanalyse.backups.discovery": (
        "cat /etc/zabbix/aktienanalyse-backups.json",
        "aktienanalyse verified backups",
        "TEXT",
    ),
    "aktienanalyse.tls.discovery": (
        "cat /etc/zabbix/aktienanalyse-tls.json",
        "aktienanalyse TLS entries",
        "TEXT",
    ),
    # Debian's agent 2 is built without its PostgreSQL plugin: psql as the agent's own user,
    # the monitoring role (deploys/postgresql.py: pg_monitor, peer, database postgres only).
    "aktienanalyse.pgsql.discovery": (
        "cat /etc/zabbix/aktienanalyse-pgsql.json",
        "aktienanalyse PostgreSQL databases",
        "TEXT",
    ),
    "aktienanalyse.pgsql.connections[*]": (
        f"{_ONLY_IDENTIFIER}{_PSQL} "
        "\"SELECT numbackends FROM pg_stat_database WHERE datname = '$1'\"",
        "{#PGDB}: connections",
        "UNSIGNED",
    ),
    "aktienanalyse.pgsql.cache_hit[*]": (
        f'{_ONLY_IDENTIFIER}{_PSQL} "SELECT coalesce(round(100.0 * blks_hit / '
        "nullif(blks_hit + blks_read, 0), 2), 100) FROM pg_stat_database WHERE datname = '$1'\"",
        "{#PGDB}: cache hit ratio, %",
        "FLOAT",
    ),
    # A PostgreSQL cluster (infra/cluster.py), on its db hosts: each member's role, the
    # primary's synchronous standbys, a standby's replay lag, and how many members' Patroni
    # answer /primary (every db host's REST API, in parallel: one dead host costs 2 s).
    "aktienanalyse.patroni.discovery": (
        "cat /etc/zabbix/aktienanalyse-patroni.json",
        "aktienanalyse PostgreSQL cluster (Patroni)",
        "TEXT",
    ),
    "aktienanalyse.pgsql.role[*]": (
        f"{_PSQL_PORT} \"SELECT CASE WHEN pg_is_in_recovery() THEN 'standby' ELSE 'primary' END\"",
        "PostgreSQL role",
        "CHAR",
    ),
    "aktienanalyse.pgsql.sync_standbys[*]": (
        f"{_PSQL_PORT} \"SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'\"",
        "PostgreSQL synchronous standbys",
        "UNSIGNED",
    ),
    "aktienanalyse.pgsql.replay_lag[*]": (
        f'{_PSQL_PORT} "SELECT CASE WHEN NOT pg_is_in_recovery() OR '
        "pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
        'ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END"',
        "PostgreSQL replay lag, s",
        "FLOAT",
    ),
    "aktienanalyse.patroni.primaries[*]": (
        f"{_ONLY_DIGITS}{{ for a in {DB_ADDRESSES}; do curl -s -o /dev/null "
        "-w '%{http_code}\\n' --max-time 2 \"http://$a:$1/primary\" & done; wait; } "
        "| awk '/^200$/ {n++} END {print n+0}'",
        "Patroni members answering /primary",
        "UNSIGNED",
    ),
    # etcd, on its members (a cluster's db and voter hosts): this member's own /health.
    "aktienanalyse.etcd.discovery": (
        "cat /etc/zabbix/aktienanalyse-etcd.json",
        "aktienanalyse etcd member",
        "TEXT",
    ),
    "aktienanalyse.etcd.healthy[*]": (
        f'{_ONLY_DIGITS}if curl -fsS --max-time 2 "http://127.0.0.1:$1/health" 2>/dev/null'
        ' | grep -q \'"health":"true"\'; then echo 1; else echo 0; fi',
        "etcd member healthy (1) or not (0)",
        "UNSIGNED",
    ),
    # Agent 2's Redis plugin authenticates with a password only, i.e. as Redis' `default`
    # user, which stays off; redis-cli logs in as the ACL user zabbix (INFO and PING only).
    "aktienanalyse.redis.discovery": (
        "cat /etc/zabbix/aktienanalyse-redis.json",
        "aktienanalyse Redis",
        "TEXT",
    ),
    # Zabbix fills $1..$9 in a parameterised command: no awk field ($2) may appear in one.
    "aktienanalyse.redis.memory_pused[*]": (
        f"{_REDIS_INFO} memory | tr -d '\\r' | sed -n -e 's/^used_memory:\\([0-9]*\\)$/\\1/p' "
        "-e 's/^maxmemory:\\([0-9]*\\)$/\\1/p' | awk 'BEGIN {"
        "if ((getline used) <= 0 || (getline max) <= 0) exit 1; "
        'if (max > 0) printf "%.2f\\n", 100 * used / max; else print 0}\'',
        "Redis {#REDISPORT}: memory used of maxmemory, %",
        "FLOAT",
    ),
    "aktienanalyse.redis.clients[*]": (
        f"{_REDIS_INFO} clients | tr -d '\\r' | sed -n 's/^connected_clients:\\([0-9]*\\)$/\\1/p'",
        "Redis {#REDISPORT}: connected clients",
        "UNSIGNED",
    ),
    # A Redis cluster (infra/cluster.py), on its cache hosts: this Redis's role, and how many
    # of the cache hosts' Redis say role:master (all asked in parallel, as the agent's user).
    "aktienanalyse.rediscluster.discovery": (
        "cat /etc/zabbix/aktienanalyse-rediscluster.json",
        "aktienanalyse Redis cluster",
        "TEXT",
    ),
    "aktienanalyse.redis.role[*]": (
        f"{_REDIS_INFO} replication | tr -d '\\r' | sed -n 's/^role:\\([a-z]*\\)$/\\1/p'",
        "Redis {#REDISPORT}: role",
        "CHAR",
    ),
    "aktienanalyse.redis.masters[*]": (
        f'{_ONLY_DIGITS}REDISCLI_AUTH="$(cat {REDIS_PASSWORD_FILE})"; export REDISCLI_AUTH; '
        f"{{ for a in {CACHE_ADDRESSES}; do timeout 2 redis-cli --no-auth-warning --user zabbix "
        '-h "$a" -p "$1" INFO replication & done; wait; } | tr -d \'\\r\' '
        "| awk '/^role:master$/ {n++} END {print n+0}'",
        "Redis masters among the cache hosts",
        "UNSIGNED",
    ),
    # Redis Sentinel, on its hosts (a Redis cluster's cache and voter hosts): the master this
    # Sentinel names, and whether the Sentinels it sees could authorise a failover (CKQUORUM),
    # asked as Sentinel's read-only user zabbix.
    "aktienanalyse.sentinel.discovery": (
        "cat /etc/zabbix/aktienanalyse-sentinel.json",
        "aktienanalyse Redis Sentinel",
        "TEXT",
    ),
    "aktienanalyse.sentinel.master[*]": (
        f'{_ONLY_DIGITS}REDISCLI_AUTH="$(cat {SENTINEL_PASSWORD_FILE})" redis-cli '
        f'--no-auth-warning --user zabbix -p "$1" SENTINEL get-master-addr-by-name {MASTER_NAME} '
        "| head -n 1",
        "Sentinel {#SENTINELPORT}: the Redis master it names",
        "CHAR",
    ),
    "aktienanalyse.sentinel.quorum[*]": (
        f'{_ONLY_DIGITS}if REDISCLI_AUTH="$(cat {SENTINEL_PASSWORD_FILE})" redis-cli '
        f'--no-auth-warning --user zabbix -p "$1" SENTINEL ckquorum {MASTER_NAME} '
        "| grep -q '^OK'; then echo 1; else echo 0; fi",
        "Sentinel {#SENTINELPORT}: a failover could be authorised (1) or not (0)",
        "UNSIGNED",
    ),
    # Not vm.memory.size[pused]: that counts the page cache as used (a warm database host
    # would sit above 85 %), and reads sysinfo(), which in LXC is the whole machine's.
    # /proc/meminfo's MemAvailable is the container's (lxcfs). Not a [*] key: $2 is awk's.
    "aktienanalyse.memory.pused": (
        "awk '/^MemTotal:/ {t = $2} /^MemAvailable:/ {a = $2} "
        'END {if (t > 0) printf "%.2f\\n", 100 * (t - a) / t; else exit 1}\' /proc/meminfo',
        "memory used (MemAvailable), %",
        "FLOAT",
    ),
    "aktienanalyse.updates.security": (
        "apt-get -s -o Debug::NoLocking=true dist-upgrade 2>/dev/null"
        " | awk '/^Inst .*Debian-Security/ {n++} END {print n+0}'",
        "security updates pending",
        "UNSIGNED",
    ),
    "aktienanalyse.health[*]": (
        f"{_ONLY_DIGITS}curl -s -o /dev/null -w '%{{http_code}}' --max-time 5 "
        '"http://127.0.0.1:$1/health"',
        "{#UNIT}: /health HTTP status",
        "UNSIGNED",
    ),
}
# The item prototypes of each discovery rule: UserParameter key -> how its parameter is
# filled from a discovered entry.
PROTOTYPES = {
    "aktienanalyse.discovery": {
        "aktienanalyse.log.errors[*]": "{#LOG}",
        "aktienanalyse.log.warnings[*]": "{#LOG}",
        "aktienanalyse.health[*]": "{#PORT}",
    },
    "aktienanalyse.pgsql.discovery": {
        "aktienanalyse.pgsql.connections[*]": "{#PGDB}",
        "aktienanalyse.pgsql.cache_hit[*]": "{#PGDB}",
    },
    "aktienanalyse.patroni.discovery": {
        "aktienanalyse.pgsql.role[*]": "{#PGPORT}",
        "aktienanalyse.pgsql.sync_standbys[*]": "{#PGPORT}",
        "aktienanalyse.pgsql.replay_lag[*]": "{#PGPORT}",
        "aktienanalyse.patroni.primaries[*]": "{#RESTPORT}",
    },
    "aktienanalyse.etcd.discovery": {
        "aktienanalyse.etcd.healthy[*]": "{#ETCDPORT}",
    },
    "aktienanalyse.redis.discovery": {
        "aktienanalyse.redis.memory_pused[*]": "{#REDISPORT}",
        "aktienanalyse.redis.clients[*]": "{#REDISPORT}",
    },
    "aktienanalyse.rediscluster.discovery": {
        "aktienanalyse.redis.role[*]": "{#REDISPORT}",
        "aktienanalyse.redis.masters[*]": "{#REDISPORT}",
    },
    "aktienanalyse.sentinel.discovery": {
        "aktienanalyse.sentinel.master[*]": "{#SENTINELPORT}",
        "aktienanalyse.sentinel.quorum[*]": "{#SENTINELPORT}",
    },
}
# The rules of a PostgreSQL cluster's items. Their UserParameters are written only on the
# hosts whose discovery file lists an entry (user_parameters_text): a host without a cluster
# keeps the file it had, plus the rules' own keys (every host links the template).
PATRONI_RULE, ETCD_RULE = "aktienanalyse.patroni.discovery", "aktienanalyse.etcd.discovery"
REDIS_CLUSTER_RULE = "aktienanalyse.rediscluster.discovery"
SENTINEL_RULE = "aktienanalyse.sentinel.discovery"


def discovery(settings: Settings, is_app_host: bool) -> dict:
    """Low-level discovery data: one entry per service instance this host runs."""
    entries = []
    for name, service in deployed(settings) if is_app_host else []:
        for unit, port in zip(instance_units(name, service), service.ports, strict=True):
            entries.append(
                {
                    "{#UNIT}": unit,
                    "{#SERVICE}": name,
                    "{#PORT}": str(port),
                    "{#LOG}": f"{name}-{port}",
                }
            )
    return {"data": entries}


def jobs_discovery(settings: Settings, groups: set[str], migrates=False, repository=False) -> dict:
    """Low-level discovery data: one entry per oneshot judged by its last result, the
    scheduled jobs and, on the host that runs it, the migration."""
    units = [job.unit for job in host_jobs(settings, groups, repository_host=repository)]
    units += [MIGRATION] if migrates else []
    return {"data": [{"{#JOB}": unit} for unit in units]}


def backups_discovery(settings: Settings, groups: set[str], repository_host: bool = False) -> dict:
    """Low-level discovery data: each backup job, its verified backups' stamp, its max age (s)."""
    entries = []
    for job in host_jobs(settings, groups, repository_host=repository_host):
        kind = next((k for k in ("postgresql", "redis") if job.name.startswith(k + "-")), None)
        if job.name.startswith("postgresql-backup") or job.name == "redis-snapshot-copy":
            entries.append(
                {
                    "{#JOB}": job.unit,
                    "{#STAMP}": stamp(kind),
                    "{#MAXAGE}": str(settings.backup.max_age_hours * 3600),
                }
            )
    return {"data": entries}


# The daemons each group runs besides the platform's own units, watched by their state.
DAEMONS = {
    "lb": "haproxy.service",
    "db": "postgresql@15-main.service",
    "cache": "redis-server.service",
    "monitoring": "zabbix-server.service",
}
PATRONI_UNIT = f"patroni@{SCOPE}.service"  # PostgreSQL's, on a cluster's db hosts
ETCD_UNIT = "etcd.service"  # on a cluster's etcd members
PGBACKREST_UNIT = "pgbackrest.service"  # where a backup host and the db hosts talk


def redis_monitor_password(admin_password: SecretStr) -> SecretStr:
    """The agent's Redis password (ACL user zabbix: INFO and PING only), derived from the
    admin password: no secret more to keep, and it rotates with it."""
    digest = hmac.new(admin_password.get_secret_value().encode(), _MONITOR_CONTEXT, "sha256")
    return SecretStr(digest.hexdigest())


def daemons_discovery(
    groups: set[str], patroni: bool = False, etcd: bool = False, pgbackrest: bool = False
) -> dict:
    """Low-level discovery data: the daemons this host's groups run; on a db host of a
    PostgreSQL cluster (`patroni`) Patroni's unit instead of PostgreSQL's; etcd (`etcd`);
    pgBackRest's TLS server (`pgbackrest`)."""
    daemons = {**DAEMONS, "db": PATRONI_UNIT} if patroni else DAEMONS
    units = [unit for group, unit in daemons.items() if group in groups]
    units += [ETCD_UNIT] if etcd else []
    units += [PGBACKREST_UNIT] if pgbackrest else []
    return {"data": [{"{#DAEMON}": unit} for unit in units]}


def pgsql_discovery(settings: Settings, groups: set[str]) -> dict:
    """Low-level discovery data: the platform's databases, on db hosts."""
    databases = settings.postgresql.databases if "db" in groups else []
    return {"data": [{"{#PGDB}": name} for name in databases]}


def patroni_discovery(clustered: bool) -> dict:
    """Low-level discovery data: PostgreSQL's and Patroni's REST API's ports, on a db host of
    a PostgreSQL cluster (`clustered`)."""
    entry = {"{#PGPORT}": str(POSTGRES_PORT), "{#RESTPORT}": str(REST_PORT)}
    return {"data": [entry] if clustered else []}


def etcd_discovery(member: bool) -> dict:
    """Low-level discovery data: etcd's client port, on a cluster's etcd members (`member`)."""
    return {"data": [{"{#ETCDPORT}": str(ETCD_METRICS_PORT)}] if member else []}


def redis_discovery(groups: set[str]) -> dict:
    """Low-level discovery data: the Redis server, on cache hosts."""
    return {"data": [{"{#REDISPORT}": "6379"}] if "cache" in groups else []}


def redis_cluster_discovery(clustered: bool) -> dict:
    """Low-level discovery data: Redis's port, on a cache host of a Redis cluster."""
    return {"data": [{"{#REDISPORT}": str(REDIS_PORT)}] if clustered else []}


def sentinel_discovery(member: bool) -> dict:
    """Low-level discovery data: Sentinel's port, on the hosts that run one (`member`)."""
    return {"data": [{"{#SENTINELPORT}": str(SENTINEL_PORT)}] if member else []}


def tls_discovery(settings: Settings, groups: set[str]) -> dict:
    """Low-level discovery data: the TLS entries whose certificate this host serves."""
    return {"data": [{"{#TLSPORT}": str(settings.haproxy.port)}] if "lb" in groups else []}


def user_parameters_text(
    log_dir: str = Platform().log_dir,
    db_addresses: Sequence[str] = (),
    etcd: bool = False,
    cache_addresses: Sequence[str] = (),
    sentinel: bool = False,
) -> str:
    """The agent's UserParameter file, the log items reading `log_dir` (`platform.log_dir`;
    a SafePath, so it needs no quoting). A cluster's items only where they apply: Patroni's on
    its db hosts (`db_addresses`: every db host's address, validated IPv4, quoted all the
    same; empty elsewhere), etcd's on its members (`etcd`), the Redis cluster's on its cache
    hosts (`cache_addresses`, likewise), Sentinel's where one runs (`sentinel`)."""
    written = {
        PATRONI_RULE: bool(db_addresses),
        ETCD_RULE: etcd,
        REDIS_CLUSTER_RULE: bool(cache_addresses),
        SENTINEL_RULE: sentinel,
    }
    left_out = {key for rule, on in written.items() if not on for key in PROTOTYPES[rule]}
    lines = ["# Managed by deploys/zabbix.py (USER_PARAMETERS); edits are overwritten."]
    filled = {
        LOG_DIR: log_dir,
        DB_ADDRESSES: " ".join(shlex.quote(address) for address in db_addresses),
        CACHE_ADDRESSES: " ".join(shlex.quote(address) for address in cache_addresses),
    }
    for key, (command, _, _) in USER_PARAMETERS.items():
        if key not in left_out:
            for placeholder, value in filled.items():
                command = command.replace(placeholder, value)
            lines.append(f"UserParameter={key},{command}")
    return "\n".join(lines) + "\n"
