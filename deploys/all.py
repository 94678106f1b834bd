"""Converge a host: every deploy of every group it is in, in the seeds' start order.

    pyinfra inventories/prod.py deploys/all.py

Order: base and logrotate (all hosts); data services (db, cache) behind their firewall;
database clients and the application's releases (app); HAProxy in front (lb). This file only
composes.
"""

from pyinfra import host

from deploys import (
    app,
    base,
    clients,
    firewall,
    haproxy,
    logrotate,
    postgresql,
    redis,
    zabbix,
)

base.apply()
logrotate.apply()
if {"db", "cache", "lb"} & set(host.data.groups):
    firewall.apply()
if "db" in host.data.groups:
    postgresql.apply()
if "cache" in host.data.groups:
    redis.apply()
if "app" in host.data.groups:
    clients.apply()
    app.apply()
if "lb" in host.data.groups:
    haproxy.apply()
zabbix.apply()
