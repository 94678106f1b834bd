"""`machine`: the container's limits as its hypervisor gives them (host data, per host).

Needed only on the hosts of a PostgreSQL cluster (two or more db hosts): the cluster has
one tuning, written once into Patroni's configuration, so its members must be alike, and
the inventory says so before any host is contacted (infra/cluster.py). A converge checks
them against the cgroup it finds (deploys/patroni.py).
"""

from __future__ import annotations

from pydantic import Field, field_validator

from infra.settings.types import Strict, Text, check_size


class Machine(Strict):
    memory: Text | None = Field(
        None, description="the container's memory limit, e.g. '2048M' (a cluster member's)"
    )
    cpus: int | None = Field(None, ge=1, le=256, description="the container's CPUs")

    @field_validator("memory")
    @classmethod
    def _size(cls, value: str | None) -> str | None:
        return None if value is None else check_size(value)
