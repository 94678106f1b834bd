"""Converge a host: every deploy of every group it is in, in the seeds' start order.

    pyinfra inventories/prod.py deploys/all.py

Order: base, security updates, logrotate and the firewall (all hosts); data services (db,
cache) and their backups; database clients and the application's releases (app); HAProxy in
front (lb); then the app instances HAProxy no longer routes to are stopped; the scheduled
jobs; the optional Zabbix server (monitoring); the Zabbix agent. This file only composes.
"""

from pyinfra import host

from deploys import (
    app,
    backup,
    base,
    clients,
    firewall,
    haproxy,
    jobs,
    logrotate,
    monitoring,
    postgresql,
    redis,
    updates,
    zabbix,
)
from infra.hostdata import settings

settings()  # every host's settings valid, or the run stops before any command
groups = set(host.groups)
base.apply()
updates.apply()
logrotate.apply()
firewall.apply()
if "db" in groups:
    postgresql.apply()
if "cache" in groups:
    redis.apply()
backup.apply()  # db: pgBackRest's stanza; cache: where Redis' snapshots go
if "app" in groups:
    clients.apply()
    app.apply()
if "lb" in groups:
    haproxy.apply()
if "app" in groups:
    app.stop_unwanted_instances()  # after HAProxy stopped sending them requests
jobs.apply()
if "monitoring" in groups:
    monitoring.apply()  # the optional Zabbix server; `make zabbix-register` registers the agents
zabbix.apply()
