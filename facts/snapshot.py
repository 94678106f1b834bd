"""What a converge consults about a host before deciding anything, in one command.

pyinfra runs operations one at a time across all hosts, each waiting for the slowest host;
an operation that reads a fact when it runs costs a round trip in every one of those steps,
and so does each fact a deploy reads while it prepares. `read_snapshot`, called by
deploys/all.py before any operation, runs the commands of many facts as one (in each host's
own preparation, all hosts at once) and keeps their values for `read_once` (facts/once.py):
the operations then decide without contacting the host.
"""

from __future__ import annotations

from typing import Any

from pyinfra import host
from pyinfra.api import FactBase
from pyinfra.facts.server import Timezone

from facts.accounts import Accounts
from facts.files import FilesIn
from facts.kernel import MountPoints, Sysctl
from facts.once import remember
from facts.packages import InstalledPackages
from facts.postgresql import (
    PostgresqlExtensions,
    PostgresqlMonitoringRole,
    PostgresqlRoleVerifier,
    PostgresqlRuntime,
)
from facts.releases import Releases
from facts.resources import EffectiveResources
from facts.systemd import Units

# The facts a snapshot may hold, by the name a request gives them.
FACTS: dict[str, type[FactBase]] = {
    fact.__name__: fact
    for fact in (
        Accounts, Units, FilesIn, InstalledPackages, Timezone, EffectiveResources, Sysctl,
        MountPoints, PostgresqlRuntime, PostgresqlMonitoringRole, PostgresqlRoleVerifier,
        PostgresqlExtensions, Releases,
    )
}  # fmt: skip
_MARK = "##aktienanalyse-snapshot "


class Snapshot(FactBase):
    """[value of each requested fact], `facts` being [(fact name, its arguments)]: each
    value as `host.get_fact` would give it (the fact's default for no output)."""

    default = list

    def command(self, facts: list[tuple[str, dict[str, Any]]]) -> str:
        return "; ".join(
            f"echo '{_MARK}{index}'; ( {FACTS[name]().command(**arguments)} )"
            for index, (name, arguments) in enumerate(facts)
        )

    def process(self, output: list[str]) -> list:
        sections: dict[int, list[str]] = {}
        current: list[str] = []
        for line in output:
            if line.startswith(_MARK) and line[len(_MARK) :].isdigit():
                current = sections.setdefault(int(line[len(_MARK) :]), [])
            else:
                current.append(line)
        return [sections.get(index) for index in range(max(sections, default=-1) + 1)]


def read_snapshot(facts: list[tuple[type[FactBase], dict[str, Any]]]) -> None:
    """Read `facts` ([(fact, arguments)]) of the current host in one command and keep each
    value for `read_once`. A fact the snapshot holds no section for (its command was cut
    short) is left to be read on its own when first needed."""
    requested = [(fact.__name__, arguments) for fact, arguments in facts]
    sections = host.get_fact(Snapshot, facts=requested)
    for (fact, arguments), lines in zip(facts, sections, strict=False):
        if lines is not None:
            remember(fact, arguments, fact().process(lines) if lines else fact().default())
