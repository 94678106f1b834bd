"""A unit's ActiveState. pyinfra's SystemdStatus reads SubState, which for a target is
"active", a value it does not count as running: targets would restart on every run."""

from __future__ import annotations

from pyinfra.api import FactBase


class UnitActiveState(FactBase):
    """`active`, `inactive`, `failed`, ... for one unit."""

    def command(self, unit: str) -> str:
        return f"systemctl show -p ActiveState --value {unit}"

    def process(self, output: list[str]) -> str:
        return output[0] if output else "unknown"
