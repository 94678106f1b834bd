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


class InstanceUnits(FactBase):
    """{unit: ActiveState} of every loaded instance of the platform's service templates
    (`aktienanalyse-<service>@<port>.service`), whichever the settings still want."""

    default = dict

    def command(self) -> str:
        return (
            "systemctl list-units --all --plain --no-legend --type=service "
            "'aktienanalyse-*@*.service'"
        )

    def process(self, output: list[str]) -> dict[str, str]:
        units = {}
        for line in output:
            fields = line.split()
            if len(fields) >= 3 and "@" in fields[0]:
                units[fields[0]] = fields[2]  # unit, load, active, sub, description
        return units


class JobUnitFiles(FactBase):
    """The scheduled jobs' unit files in /etc/systemd/system (`aktienanalyse-job-*`), so jobs
    no longer declared can be removed: one round trip for all of them."""

    default = list

    def command(self) -> str:
        return (
            "find /etc/systemd/system -maxdepth 1 -type f "
            "\\( -name 'aktienanalyse-job-*.service' -o -name 'aktienanalyse-job-*.timer' \\) "
            "-printf '%f\\n'"
        )

    def process(self, output: list[str]) -> list[str]:
        return sorted(line.strip() for line in output if line.strip())
