"""Restore PostgreSQL from pgBackRest to a point in time or a backup set (`make restore`).

    make restore INVENTORY=inventories/prod.py HOST=node-1 CONFIRM=node-1 \
        TIME='2026-11-22 10:15:00+01:00'

The request (infra/restore.py) is checked before any host is contacted. Then, in this order
across hosts: the app hosts stop `aktienanalyse.target` (no writes during the restore); the
named db host stops PostgreSQL, restores in place (`--delta`), starts it and waits until
recovery has promoted it; the app hosts start their target again. pgBackRest itself refuses
to restore while PostgreSQL runs.
"""

from __future__ import annotations

import os
import shlex

from pyinfra import host, inventory
from pyinfra.operations import server, systemd

from facts.postgresql import UNIT
from infra.hostdata import settings
from infra.jobs import STANZA
from infra.restore import parse_request

TARGET = "aktienanalyse.target"

try:
    request = parse_request(os.environ)
except ValueError as exc:
    raise SystemExit(f"Restore refused, no host was contacted: {exc}") from None
if request.host not in {db_host.name for db_host in inventory.get_group("db", [])}:
    raise SystemExit(f"Restore refused, no host was contacted: {request.host} is not a db host")
if len(inventory.get_group("db", [])) > 1:
    raise SystemExit(
        "Restore refused, no host was contacted: PostgreSQL is a Patroni cluster; restoring one "
        "member in place would fork it (docs/runbook.md: restoring a cluster, by hand)"
    )
settings()
groups = set(host.groups)
restoring = "db" in groups and host.name == request.host
if "app" in groups:
    systemd.service(name=f"Stop {TARGET} for the restore", service=TARGET, running=False)
if restoring:
    restore = shlex.join(
        ["pgbackrest", f"--stanza={STANZA}", "--delta", *request.pgbackrest_options(), "restore"]
    )
    promoted = "runuser -u postgres -- psql -XAtc 'SELECT NOT pg_is_in_recovery()' | grep -qx t"
    server.shell(
        name=f"Restore PostgreSQL ({request.time or request.backup_set})",
        commands=[
            # A running database first archives its WAL up to now (check switches and waits),
            # or the time asked for may lie beyond what was archived.
            f"if systemctl is-active --quiet {UNIT}; then runuser -u postgres -- "
            f"pgbackrest --stanza={STANZA} check; fi",
            f"systemctl stop {UNIT}",
            f"runuser -u postgres -- {restore}",
            f"systemctl start {UNIT}",
            f"for i in $(seq 300); do {promoted} && exit 0; sleep 1; done; exit 1",
        ],
    )
if "app" in groups:
    systemd.service(name=f"Start {TARGET}", service=TARGET, running=True)
