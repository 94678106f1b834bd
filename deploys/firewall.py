"""Firewall for the data hosts (groups `db`, `cache`): their ports for app hosts only.

PostgreSQL's pg_hba already refuses other hosts, but Redis has no notion of client
addresses; nftables closes both ports to every host outside the inventory's `app` group.
Settings: none; the allowed addresses are the other `app` hosts' `address`.
"""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import systemd

from deploys.inventory import peer_addresses
from deploys.operations import apt_install, checked_file
from deploys.templating import render

RULES_FILE = "/etc/nftables.conf"
PORTS = {"db": 5432, "cache": 6379}


@deploy("Firewall")
def apply() -> None:
    ports = [port for group, port in PORTS.items() if group in host.data.groups]
    apt_install("nftables", ["nftables"])
    rules = checked_file(
        name=f"Firewall rules {RULES_FILE} (checked by nft -c)",
        dest=RULES_FILE,
        content=render(RULES_FILE, ports=ports, app_addresses=peer_addresses("app")),
        check="nft -c -f {path}",
        mode=755,
    )
    systemd.service(name="Firewall loaded at boot", service="nftables", running=True, enabled=True)
    systemd.service(
        name="Load the changed firewall rules",
        service="nftables",
        reloaded=True,
        _if=rules.did_change,
    )
