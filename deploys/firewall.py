"""Firewall (groups `db`, `cache`, `lb`): ports only the app hosts may use, closed to others.

PostgreSQL's pg_hba already refuses other hosts, but Redis has no notion of client
addresses, and HAProxy's TCP admin socket (the app hosts drain their instances through it)
has no authentication; nftables closes these ports to every host outside the inventory's
`app` group. Settings: `haproxy.admin_port`; the allowed addresses are the other `app` hosts'.
"""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import systemd

from infra.hostdata import peer_addresses, settings
from infra.operations import apt_install, checked_file, run_if_changed
from infra.templating import render

RULES_FILE = "/etc/nftables.conf"


@deploy("Firewall")
def apply() -> None:
    by_group = {"db": 5432, "cache": 6379}
    if "lb" in host.groups:  # the lb owns its admin port
        by_group["lb"] = settings().haproxy.admin_port
    ports = [port for group, port in by_group.items() if group in host.groups]
    apt_install("nftables", ["nftables"])
    rules = checked_file(
        name=f"Firewall rules {RULES_FILE} (checked by nft -c)",
        dest=RULES_FILE,
        content=render(RULES_FILE, ports=ports, app_addresses=peer_addresses("app")),
        check="nft -c -f {path}",
        mode=755,
    )
    systemd.service(name="Firewall loaded at boot", service="nftables", running=True, enabled=True)
    run_if_changed(
        {"firewall rules": rules},
        systemd.service,
        name="Reload nftables (rules changed)",
        service="nftables",
        reloaded=True,
    )
