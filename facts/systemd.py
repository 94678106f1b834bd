"""A unit's ActiveState. pyinfra's SystemdStatus reads SubState, which for a target is
"active", a value it does not count as running: targets would restart on every run."""

from __future__ import annotations

from pyinfra.api import FactBase

from facts.once import read_once


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


class Units(FactBase):
    """{unit: {"active": ActiveState, "file": UnitFileState}} of every unit systemd has
    loaded or has a file for, in one command (`file` None for an instance or a unit loaded
    without a file of its own)."""

    default = dict

    def command(self) -> str:
        return (
            "systemctl list-units --all --plain --no-legend --full && echo -- "
            "&& systemctl list-unit-files --plain --no-legend --full"
        )

    def process(self, output: list[str]) -> dict[str, dict]:
        return parse_units(output)


def parse_units(lines: list[str]) -> dict[str, dict]:
    split = lines.index("--") if "--" in lines else len(lines)
    units: dict[str, dict] = {}
    for line in lines[:split]:
        fields = line.lstrip("●* ").split()  # a failed unit may be marked
        if len(fields) >= 3:  # unit, load, active, sub, description
            units[fields[0]] = {"active": fields[2], "file": None}
    for line in lines[split + 1 :]:
        fields = line.split()
        if len(fields) >= 2:  # unit file, state, preset
            units.setdefault(fields[0], {"active": "inactive", "file": None})["file"] = fields[1]
    return units


def unit_state(unit: str) -> dict:
    """The Units entry of `unit` (a name without suffix is a service), read once per run."""
    name = unit if "." in unit else f"{unit}.service"
    return read_once(Units).get(name, {"active": "unknown", "file": None})
