"""Turn an inventory's host list into pyinfra groups, with validated settings attached.

Inventory modules call `build_groups` at import time, so invalid settings stop the run before
pyinfra connects to anything. Every host gets three data keys the deploys rely on:
`address` (its IP, for other hosts' configuration), `groups`, and `settings`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploys.settings import GROUPS, load_inventory_settings


@dataclass(frozen=True)
class HostSpec:
    address: str
    groups: list[str]
    connection: dict[str, Any] = field(default_factory=dict)  # pyinfra ssh_* data
    settings: dict[str, Any] = field(default_factory=dict)  # host-level settings layer


def build_groups(
    hosts: Mapping[str, HostSpec],
    inventory_file: str,
    environment_settings: Mapping[str, Any] | None = None,
) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    settings = load_inventory_settings(
        {name: spec.groups for name, spec in hosts.items()},
        inventory_file,
        environment=environment_settings,
        per_host={name: spec.settings for name, spec in hosts.items() if spec.settings},
    )
    groups: dict[str, list[tuple[str, dict[str, Any]]]] = {group: [] for group in GROUPS}
    for name, spec in hosts.items():
        data = {
            **spec.connection,
            "address": spec.address,
            "groups": list(spec.groups),
            "settings": settings[name],
        }
        for group in spec.groups:
            groups[group].append((name, data))
    return groups


def load_inventory_file(inventory_file: str) -> dict[str, dict[str, Any]]:
    """name → data of every host in an inventory module (e.g. inventories/prod.py), loaded
    outside pyinfra: settings are resolved and validated, nothing is contacted."""
    import runpy
    import sys

    repo = Path(__file__).resolve().parent.parent
    if str(repo) not in sys.path:
        sys.path.insert(0, str(repo))
    module = runpy.run_path(str(repo / inventory_file))
    return {name: data for group in GROUPS for name, data in module.get(group, [])}


def peer_addresses(group: str) -> list[str]:
    """Addresses of the *other* hosts in `group` (during a deploy: other than the current one)."""
    from pyinfra import host, inventory

    return sorted(
        peer.data.address for peer in inventory.get_group(group, default=[]) if peer != host
    )
