"""What this host's Patroni says about itself and the cluster's dynamic configuration."""

from __future__ import annotations

import json

from pyinfra.api import FactBase

from infra.cluster import REST_PORT


class PatroniMember(FactBase):
    """{"member": GET /patroni (role, state, pending_restart...), "config": GET /config}, each
    None while Patroni does not answer (not installed, not started, or down)."""

    @staticmethod
    def default() -> dict:
        return {"member": None, "config": None}

    def command(self, address: str) -> str:
        get = f"curl -fsS --max-time 3 http://{address}:{REST_PORT}"
        return (
            f"{{ {get}/patroni || echo null; }} 2>/dev/null; echo; "
            f"{{ {get}/config || echo null; }} 2>/dev/null; echo"
        )

    def process(self, output: list[str]) -> dict:
        lines = [line for line in output if line.strip()]
        values = []
        for line in lines[:2]:
            try:
                values.append(json.loads(line))
            except ValueError:
                values.append(None)
        values += [None] * (2 - len(values))
        return {"member": values[0], "config": values[1]}
