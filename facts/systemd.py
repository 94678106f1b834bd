"""Units' ActiveState and unit file state, read once per run (facts/snapshot.py).

ActiveState, not pyinfra's SystemdStatus (SubState): a target's SubState is "active", a value
SystemdStatus does not count as running, so targets would restart on every run."""

from __future__ import annotations

import fnmatch
import shlex

from pyinfra.api import FactBase

from facts.once import read_once

# The unit files whose state (enabled, disabled, ...) a converge consults: the platform's own
# and those of the packages the deploys enable (ensure_service). `systemctl list-unit-files`
# works out the state of every file it lists, which is slow for all of them, so it lists these.
# A unit outside them is still judged right, from a listing of every unit file (unit_state).
UNIT_FILES = (
    "aktienanalyse*",
    "apache2.service",
    "apt-daily-upgrade.timer",
    "etcd.service",
    "haproxy.service",
    "nftables.service",
    "patroni@15-main.service",
    "pgbackrest.service",
    "postgresql@15-main.service",
    "postgresql.service",
    "redis-sentinel.service",
    "redis-server.service",
    "sysstat.service",
    "zabbix-agent2.service",
    "zabbix-server.service",
)


class Units(FactBase):
    """{unit: {"active": ActiveState, "file": UnitFileState}} of every unit systemd has
    loaded, and of every unit file (or only those matching `files`, glob patterns), in one
    command (`file` None for an instance or a unit loaded without a file of its own)."""

    default = dict

    def command(self, files: tuple[str, ...] = ()) -> str:
        patterns = "".join(f" {shlex.quote(pattern)}" for pattern in files)
        # list-unit-files exits 1 when no file matches the patterns: an empty listing.
        return (
            "systemctl list-units --all --plain --no-legend --full && echo -- "
            f"&& {{ systemctl list-unit-files --plain --no-legend --full{patterns} "
            "|| [ $? -eq 1 ]; }"
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


def unit_state(unit: str, file_state: bool = True) -> dict:
    """The Units entry of `unit` (a name without suffix is a service), from the snapshot's
    listing (facts/snapshot.py): its file state only for UNIT_FILES, which the snapshot lists."""
    name = unit if "." in unit else f"{unit}.service"
    if file_state and not any(fnmatch.fnmatchcase(name, glob) for glob in UNIT_FILES):
        raise ValueError(f"{name}: its file state is read only for UNIT_FILES (facts/systemd.py)")
    return read_once(Units, files=UNIT_FILES).get(name, {"active": "unknown", "file": None})


def platform_instances() -> dict[str, str]:
    """{unit: ActiveState} of every loaded instance of the platform's service templates
    (`aktienanalyse-<service>@<port>.service`), from the snapshot's units."""
    return {
        name: state["active"]
        for name, state in read_once(Units, files=UNIT_FILES).items()
        if fnmatch.fnmatchcase(name, "aktienanalyse-*@?*.service")
    }
