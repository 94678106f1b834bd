"""The hosts of the inventory under verification, as testinfra host specs.

    AKTIENANALYSE_INVENTORY=inventories/prod.py pytest tests/verify     (make verify INVENTORY=...)

Connections follow the inventory: its user (the operator) and sudo, with the lab's
ssh_config or production's address and pinned known_hosts (StrictHostKeyChecking yes). The
key comes from the ssh agent or the user's default identity, as for pyinfra. testinfra's
commands to a host share one connection (its ControlMaster=auto, our ControlPath): one login
per host and run instead of one per command.
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


@cache
def _control_dir() -> str:
    # Under /tmp itself, whatever TMPDIR says: a socket path must fit in 108 bytes.
    return tempfile.mkdtemp(prefix="verify-ssh-", dir="/tmp")


def _spec(name: str, data: dict[str, Any]) -> str:
    """As pyinfra connects: the inventory's user (the operator) with sudo when it says so."""
    sudo = "&sudo=true" if data.get("_sudo") else ""
    own = data.get("ssh_config_file")
    lines = [f'Include "{_existing(own)}"'] if own else []
    # After the inventory's own config, whose values win (ssh takes the first it reads).
    lines += ["Host *", f"  ControlPath {_control_dir()}/%C"]
    lines += ["  StrictHostKeyChecking yes", "  BatchMode yes"] if own else []
    if own:
        user = f"{data['ssh_user']}@" if data.get("ssh_user") else ""
        return f"ssh://{user}{name}?ssh_config={_write_config(lines)}{sudo}"
    lines += [
        f"Host {name}",
        f"  HostName {data.get('ssh_hostname', data['address'])}",
        f"  User {data.get('ssh_user', 'root')}",
        f"  UserKnownHostsFile {data['ssh_known_hosts_file']}",
        "  StrictHostKeyChecking yes",
        "  BatchMode yes",
    ]
    return f"ssh://{name}?ssh_config={_write_config(lines)}{sudo}"


def _existing(path: str) -> str:
    """`path` made absolute (ssh would read a relative one from ~/.ssh); refused when it is
    not a file, which ssh's Include would skip without a word."""
    absolute = os.path.abspath(os.path.expanduser(path))
    if not os.path.isfile(absolute):
        raise SystemExit(f"{INVENTORY}: ssh_config_file: no such file")
    return absolute


def _write_config(lines: list[str]) -> str:
    with tempfile.NamedTemporaryFile("w", prefix="verify-ssh-", delete=False) as config:
        config.write("\n".join(lines) + "\n")
    return config.name
