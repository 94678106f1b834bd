"""The hosts of the inventory under verification, as testinfra host specs.

    AKTIENANALYSE_INVENTORY=inventories/prod.py pytest tests/verify     (make verify INVENTORY=...)

Connections follow the inventory: its user (the operator) and sudo, with the lab's
ssh_config or production's address and pinned known_hosts (StrictHostKeyChecking yes). The
key comes from the ssh agent or the user's default identity, as for pyinfra.
"""

from __future__ import annotations

import os
import tempfile
from functools import cache
from typing import Any

from infra.hostdata import load_inventory

INVENTORY = os.environ.get("AKTIENANALYSE_INVENTORY", "inventories/lab.py")


@cache
def inventory() -> dict[str, Any]:
    return load_inventory(INVENTORY)


def names(group: str | None = None) -> list[str]:
    """The inventory's host names (in `group`, if given)."""
    return [name for name, host in inventory().items() if group in (None, *host.groups)]


def settings(name: str):
    return inventory()[name].settings


@cache  # one ssh_config file per host and run
def hosts(group: str | None = None) -> list[str]:
    """testinfra specs for the inventory's hosts (in `group`, if given)."""
    return [_spec(name, inventory()[name].data) for name in names(group)]


def _spec(name: str, data: dict[str, Any]) -> str:
    """As pyinfra connects: the inventory's user (the operator) with sudo when it says so."""
    sudo = "&sudo=true" if data.get("_sudo") else ""
    if data.get("ssh_config_file"):
        user = f"{data['ssh_user']}@" if data.get("ssh_user") else ""
        return f"ssh://{user}{name}?ssh_config={data['ssh_config_file']}{sudo}"
    lines = [
        f"Host {name}",
        f"  HostName {data.get('ssh_hostname', data['address'])}",
        f"  User {data.get('ssh_user', 'root')}",
        f"  UserKnownHostsFile {data['ssh_known_hosts_file']}",
        "  StrictHostKeyChecking yes",
        "  BatchMode yes",
    ]
    with tempfile.NamedTemporaryFile("w", prefix="verify-ssh-", delete=False) as config:
        config.write("\n".join(lines) + "\n")
    return f"ssh://{name}?ssh_config={config.name}{sudo}"
