"""Zabbix agent 2 (every host): PSK-encrypted both ways, UserParameters from what is deployed.

Settings: `zabbix` (server, server_active), the deployed `services`, the jobs and the groups
for the discovery files; on cache hosts `redis_admin_password`, from which the agent's own
Redis password is derived. With a PostgreSQL cluster (infra/cluster.py), its db hosts watch
Patroni, PostgreSQL's role and replication and count the db hosts answering /primary (their
`address`es); every etcd member watches etcd. With a Redis cluster, its cache hosts watch
Redis's role and count the masters among them, and every Sentinel host asks its Sentinel
(as Sentinel's read-only user zabbix, password derived from `redis_replication_password`)
which master it names and whether a failover could be agreed. The PSK is generated once on
the host (never overwritten, never printed, zabbix-only readable); `make zabbix-register`
reads it into the server's host registration. The item keys are declared once in
infra/zabbix_items.py.
"""

from __future__ import annotations

import json

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import server

from facts.files import file_state
from facts.snapshot import Read, files_in
from infra.effects import restart_if_changed
from infra.hostdata import address, cluster, members, repository_host, settings
from infra.operations import checked_file, ensure_service, ensure_user
from infra.redis_ha import sentinel_monitor_password
from infra.services import LOG_READERS, migrates
from infra.templating import put_rendered
from infra.zabbix_items import (
    ALLOWED_KEYS,
    REDIS_PASSWORD_FILE,
    SENTINEL_PASSWORD_FILE,
    backups_discovery,
    daemons_discovery,
    discovery,
    etcd_discovery,
    jobs_discovery,
    patroni_discovery,
    pgsql_discovery,
    redis_cluster_discovery,
    redis_discovery,
    redis_monitor_password,
    sentinel_discovery,
    tls_discovery,
    user_parameters_text,
)

CONFIG = "/etc/zabbix/zabbix_agent2.conf"
USER_PARAMETERS_FILE = "/etc/zabbix/zabbix_agent2.d/aktienanalyse.conf"
PSK_FILE = "/etc/zabbix/aktienanalyse.psk"


# Installed with every other deploy's by deploys/base.py, in one apt transaction.
PACKAGES = ["zabbix-agent2", "curl"]


def facts(own) -> list[Read]:
    return files_in("/etc/zabbix", "/etc/zabbix/zabbix_agent2.d")


@deploy("Zabbix agent 2")
def apply() -> None:
    own = settings()
    reader = ensure_user(
        name=f"The agent reads the platform's logs (group {LOG_READERS}) and no other",
        user="zabbix",
        groups=[LOG_READERS],
        system=True,
        ensure_home=False,
    )
    watched = {}
    if not file_state(PSK_FILE):
        # Generated on the host, read by nobody but the agent; never leaves it in a deploy.
        # Rotating it (docs/runbook.md: remove the file, converge) restarts the agent.
        watched["new PSK"] = server.shell(
            name=f"Generate the PSK {PSK_FILE} (once)",
            commands=[
                f"umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \\n' > {PSK_FILE}.new"
                f" && chown zabbix:zabbix {PSK_FILE}.new && chmod 400 {PSK_FILE}.new"
                f" && mv {PSK_FILE}.new {PSK_FILE}"
            ],
        )
    config = put_rendered(
        CONFIG,
        {
            "zabbix": own.zabbix,
            "hostname": host.name,
            "psk_file": PSK_FILE,
            "allowed_keys": ALLOWED_KEYS,
        },
        name=f"Agent configuration {CONFIG} (checked by zabbix_agent2 -t agent.ping)",
        check="zabbix_agent2 -c {path} -t agent.ping >/dev/null",
        mode=644,
    )
    groups = set(host.groups)
    patroni = "db" in groups and cluster().postgresql
    etcd = host.name in cluster().etcd_members
    db_addresses = [address(db) for db in members("db")] if patroni else []
    redis_cluster = "cache" in groups and cluster().redis
    cache_addresses = [address(cache) for cache in members("cache")] if redis_cluster else []
    sentinel = host.name in cluster().sentinels
    repository = repository_host() is not None and own.backup.enabled
    tls_server = repository and bool({"db", "backup"} & groups)
    parameters = checked_file(
        name=f"UserParameters {USER_PARAMETERS_FILE}",
        dest=USER_PARAMETERS_FILE,
        content=user_parameters_text(
            own.platform.log_dir, db_addresses, etcd, cache_addresses, sentinel
        ),
        mode=644,
    )
    checked_file(  # read on every poll: no restart needed
        name="Discovery data /etc/zabbix/aktienanalyse-discovery.json",
        dest="/etc/zabbix/aktienanalyse-discovery.json",
        content=json.dumps(discovery(own, "app" in host.groups), indent=1) + "\n",
        mode=644,
    )
    for kind, data in (
        ("jobs", jobs_discovery(own, groups, migrates(), repository)),
        ("daemons", daemons_discovery(groups, patroni, etcd, tls_server)),
        ("backups", backups_discovery(own, groups, repository)),
        ("tls", tls_discovery(own, groups)),
        ("pgsql", pgsql_discovery(own, groups)),
        ("redis", redis_discovery(groups)),
        ("patroni", patroni_discovery(patroni)),
        ("etcd", etcd_discovery(etcd)),
        ("rediscluster", redis_cluster_discovery(redis_cluster)),
        ("sentinel", sentinel_discovery(sentinel)),
    ):
        checked_file(
            name=f"Discovery data /etc/zabbix/aktienanalyse-{kind}.json",
            dest=f"/etc/zabbix/aktienanalyse-{kind}.json",
            content=json.dumps(data, indent=1) + "\n",
            mode=644,
        )
    if "cache" in groups:
        checked_file(
            name=f"Redis password of the agent {REDIS_PASSWORD_FILE} (ACL user zabbix: INFO, PING)",
            dest=REDIS_PASSWORD_FILE,
            content=redis_monitor_password(own.secrets["redis_admin_password"]).get_secret_value(),
            user="zabbix",
            group="zabbix",
            mode=400,
            sensitive=True,
        )
    if sentinel:
        secret = settings(members("cache")[0]).secrets["redis_replication_password"]
        checked_file(
            name=f"Sentinel password of the agent {SENTINEL_PASSWORD_FILE} (read only)",
            dest=SENTINEL_PASSWORD_FILE,
            content=sentinel_monitor_password(secret).get_secret_value(),
            user="zabbix",
            group="zabbix",
            mode=400,
            sensitive=True,
        )
    ensure_service(name="Agent running and enabled", service="zabbix-agent2", enabled=True)
    restart_if_changed(
        {
            **watched,
            "agent configuration": config,
            "UserParameters": parameters,
            "log reader group": reader,
        },
        name="Restart the agent (configuration or PSK changed)",
        service="zabbix-agent2",
    )
