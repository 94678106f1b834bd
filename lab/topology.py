"""Which containers a lab topology has, their addresses, groups and limits (pure data)."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LAB_DIR = Path(os.environ.get("LAB_DIR", REPO / ".lab"))

BRIDGE = "aklab0"
SUBNET = "10.252.17"  # a /24 of our own; nothing else is ever addressed in it
BRIDGE_ADDRESS = f"{SUBNET}.1"
APT_CACHE_PORT = 3142
CONTAINER_PREFIX = "aklab-"

DEFAULT_MEMORY_MIB = 2048
DEFAULT_CPUS = 1

# Fixed last octet per host name, so a host keeps its address across topologies and runs.
HOST_NUMBERS = {
    "node-1": 10,
    "lb-1": 11,
    "app-1": 21,
    "app-2": 22,
    "data-1": 31,
    "data-2": 32,
    "mon-1": 41,
    **{f"app-{n}": 100 + n for n in range(3, 15)},
}

TOPOLOGIES: dict[str, list[tuple[str, list[str]]]] = {
    # One container in every group, like production (one LXC container).
    "single": [("node-1", ["lb", "app", "db", "cache"])],
    "split": [
        ("lb-1", ["lb"]),
        ("app-1", ["app"]),
        ("app-2", ["app"]),
        ("data-1", ["db", "cache"]),
        # The optional monitoring group: a Zabbix 6.0 server the agents are registered with.
        ("mon-1", ["monitoring"]),
    ],
    # Surviving the loss of a data host (issue 28): PostgreSQL on two db hosts under Patroni,
    # Redis on two cache hosts under Sentinel; etcd and a Sentinel on both and on the voter,
    # mon-1, so either data host may go. mon-1 also holds the pgBackRest repository (backup),
    # which backs up whichever db host is the primary.
    "ha": [
        ("lb-1", ["lb"]),
        ("app-1", ["app"]),
        ("app-2", ["app"]),
        ("data-1", ["db", "cache"]),
        ("data-2", ["db", "cache"]),
        ("mon-1", ["voter", "backup"]),
    ],
    # The benchmark's (`make bench`): 16 hosts, 14 of them app hosts, to show how a converge
    # scales with hosts. Not tested; memory for all 16 fits the lab machine.
    "wide": [
        ("lb-1", ["lb"]),
        *((f"app-{n}", ["app"]) for n in range(1, 15)),
        ("data-1", ["db", "cache"]),
    ],
}


@dataclass(frozen=True)
class LabHost:
    name: str
    address: str
    groups: list[str] = field(default_factory=list)
    memory_mib: int = DEFAULT_MEMORY_MIB
    cpus: str = "0"  # cpuset list, e.g. "0" or "0-1"

    @property
    def container(self) -> str:
        return CONTAINER_PREFIX + self.name

    def as_dict(self) -> dict:
        return {**asdict(self), "container": self.container}


def hosts_for(topology: str, cpu_count: int | None = None) -> list[LabHost]:
    """The hosts of `topology`, each pinned to one CPU, spread round-robin over the machine's."""
    if topology not in TOPOLOGIES:
        raise ValueError(f"unknown topology {topology!r}; choose one of {sorted(TOPOLOGIES)}")
    cpu_count = cpu_count or os.cpu_count() or 1
    hosts = []
    for index, (name, groups) in enumerate(TOPOLOGIES[topology]):
        first_cpu = index % cpu_count
        cpus = ",".join(str((first_cpu + n) % cpu_count) for n in range(DEFAULT_CPUS))
        hosts.append(
            LabHost(
                name=name,
                address=f"{SUBNET}.{HOST_NUMBERS[name]}",
                groups=groups,
                cpus=cpus,
            )
        )
    return hosts
