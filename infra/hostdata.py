"""pyinfra's host data, validated: the one path from group_data/ to a deploy's settings.

pyinfra loads the inventory and `group_data/*.py`; a host sees each top-level name from its
host data, else its groups' data, else `group_data/all.py` (a name is replaced whole).
`infra.validation` checks what was loaded, every host once, and the run stops before any
host is contacted when something is wrong, naming host, file, key and reason (never a value).
Deploys then read:

- `settings()`: the current host's validated settings;
- `shared(section)`: a section another group owns (the app hosts' `services`, the lb's
  `haproxy`, the db's `postgresql`, the cache's `redis`), read from that group's first host;
- `secret(name)`: a secret, from a host of the group that owns it;
- `members(group)`, `address(host)`: the inventory's hosts and their addresses.

One way in, inside a pyinfra run and outside it: `load_inventory()` loads the inventory file
and its group data in this process (`infra.inventory.load`, into pyinfra's public
`Inventory`) and validates every host (`infra.validation`). Tools and tests call it; inventory
modules call `check_before_connecting(__file__)`, which calls it while pyinfra's CLI is still
loading the inventory. pyinfra's only hook before it connects, a state callback's
`host_before_connect`, can be registered only after the inventory is loaded (`State.init`
resets the handlers), and a greenlet spawned earlier races the connections whenever a check
yields (a check that runs `systemd-analyze`). Validating synchronously, inside the inventory
module, completes before pyinfra can connect, whatever the checks do. Deploys validate
pyinfra's own loaded inventory again on their first `settings()` (cached), which also covers
`--data` overrides.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.cluster import ETCD_CLIENT_PORT, Cluster
from infra.inventory import REPO, InventoryError, host_views, load
from infra.settings import SECRET_OWNERS, Settings
from infra.validation import (  # SettingsError, refusal: the tools import them from here
    OWNERS,
    SettingsError,
    inventory_problems,
    refusal,
    validate,
)

_inventory_file: str = "inventory"
_validated: dict[str, Settings] | None = None
_loading = False  # the inventory module runs again inside load_inventory


def production_connection(inventory_file: str) -> dict[str, Any]:
    """How pyinfra reaches a production host (inventories/prod*.py): as
    $AKTIENANALYSE_SSH_USER (default `deploy`) with sudo, with the workflows' deploy key
    ($AKTIENANALYSE_SSH_KEY_FILE, `make ssh-key`; by hand, your own key or agent), host keys
    pinned in the known_hosts file beside the inventory."""
    key = os.environ.get("AKTIENANALYSE_SSH_KEY_FILE")
    return {
        "ssh_user": os.environ.get("AKTIENANALYSE_SSH_USER", "deploy"),
        **({"ssh_key": key} if key else {}),
        "ssh_known_hosts_file": str(Path(inventory_file).with_name("known_hosts")),
        "ssh_strict_host_key_checking": "yes",
        "_sudo": True,
    }


def check_before_connecting(inventory_file: str) -> None:
    """Under pyinfra's CLI: validate the whole inventory now, before pyinfra connects to any
    host; SystemExit naming every problem when it is invalid."""
    global _inventory_file, _loading
    _inventory_file = inventory_file

    import pyinfra

    if not pyinfra.is_cli or _loading:  # tools and tests validate in load_inventory
        return
    _loading = True
    try:
        load_inventory(inventory_file, cwd=Path.cwd())
    except SettingsError as exc:
        raise SystemExit(refusal(exc)) from None
    finally:
        _loading = False


def _all_settings() -> dict[str, Settings]:
    """Every host of pyinfra's loaded inventory, validated once."""
    global _validated
    if _validated is None:
        from pyinfra import state

        try:
            inventory = state.inventory
            _validated = validate(
                host_views(inventory, _inventory_file),
                inventory_problems(inventory, _inventory_file),
            )
        except SettingsError as exc:
            raise SystemExit(refusal(exc)) from None
    return _validated


def settings(host=None) -> Settings:
    """The validated settings of `host` (default: the host being deployed)."""
    if host is None:
        from pyinfra import host
    return _all_settings()[host.name]


def members(group: str) -> list:
    """The inventory's hosts in `group`, in inventory order."""
    from pyinfra import inventory

    return list(inventory.get_group(group, default=[]))


def cluster() -> Cluster:
    """What the inventory clusters (infra/cluster.py), its hosts in inventory order."""
    hosts = [*members("db"), *members("cache"), *members("voter"), *members("backup")]
    groups = {h.name: h.groups for h in hosts}
    return Cluster.of(groups)


def repository_host():
    """The `backup` host holding pgBackRest's repository, or None (each db host keeps its own,
    under `backup.path`)."""
    hosts = members("backup")
    return hosts[0] if hosts else None


def etcd_endpoints() -> str:
    """The etcd members' client URLs (Patroni, etcdctl), comma-separated."""
    hosts = {h.name: h for h in [*members("db"), *members("voter")]}
    return ",".join(
        f"http://{address(hosts[name])}:{ETCD_CLIENT_PORT}" for name in cluster().etcd_members
    )


def address(host) -> str:
    """The address other hosts use to reach `host` (its `address` data)."""
    return str(host.data.address)


def shared(section: str):
    """`section` as its owning group's first host holds it (this host's own when it belongs to
    that group, or when the group has no host in this inventory)."""
    from pyinfra import host

    owners = members(OWNERS[section])
    source = host if not owners or host in owners else owners[0]
    return getattr(settings(source), section)


def secret(name: str):
    """A secret (SecretStr) as a host of the group that owns it resolved it."""
    from pyinfra import host

    owners = members(SECRET_OWNERS[name])
    source = host if not owners or host in owners else owners[0]
    return settings(source).secrets[name]


def peer_addresses(group: str) -> list[str]:
    """Addresses of the *other* hosts in `group` (during a deploy: other than the current one)."""
    from pyinfra import host

    return sorted(address(peer) for peer in members(group) if peer != host)


def remote_lb_admin() -> list[tuple[str, int]]:
    """(address, admin port) of every *other* lb's HAProxy admin socket, each lb's own port."""
    from pyinfra import host

    return [(address(lb), settings(lb).haproxy.admin_port) for lb in members("lb") if lb != host]


# ---------------------------------------------------------------------------------------------
# Outside a pyinfra run (tools, tests)


@dataclass(frozen=True)
class LoadedHost:
    name: str
    groups: tuple[str, ...]
    data: dict[str, Any]  # what pyinfra's host.data holds (connection data included)
    settings: Settings


def load_inventory(inventory_file: str, cwd: Path = REPO) -> dict[str, LoadedHost]:
    """name → host of an inventory, loaded as pyinfra loads it (group data from
    `cwd`/group_data and the inventory's folder) and validated; nothing is contacted. Raises
    SettingsError."""
    try:
        inventory = load(inventory_file, cwd=cwd)
    except InventoryError as exc:
        raise SettingsError(str(exc)) from None
    views = host_views(inventory, inventory_file)
    validated = validate(views, inventory_problems(inventory, inventory_file))
    return {
        view.name: LoadedHost(view.name, view.groups, view.data.dict(), validated[view.name])
        for view in views
    }
