"""What a converge consults about a host before deciding anything, in one command.

pyinfra runs operations one at a time across all hosts, each waiting for the slowest host;
an operation that reads a fact when it runs costs a round trip in every one of those steps,
and so does each fact a deploy reads while it prepares. `read_snapshot`, called by
deploys/all.py before any operation, runs the commands of many facts as one (in each host's
own preparation, all hosts at once) and keeps their values for `read_once` (facts/once.py):
the operations then decide without contacting the host.
"""

from __future__ import annotations

import secrets
import shlex
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
    PostgresqlServiceAccess,
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
        PostgresqlExtensions, PostgresqlServiceAccess, Releases,
    )
}  # fmt: skip
_MARK = "##aktienanalyse-snapshot"


class Snapshot(FactBase):
    """[value of each requested fact], `facts` being [(fact name, its arguments)]: each
    section's output lines, None for a section whose command failed or never ran.

    Sections are marked with `nonce` (read_snapshot: random per run), so no line a fact
    prints, such as a file name with a newline in a listed directory, can pass for a marker.
    """

    default = list

    def command(self, facts: list[tuple[str, dict[str, Any]]], nonce: str) -> str:
        mark = f"{shlex.quote(_MARK)} {shlex.quote(nonce)}"  # quoted: '#' starts a comment
        return "; ".join(
            f"echo {mark} {index}; ( {FACTS[name]().command(**arguments)} ); "
            f'echo {mark} {index} "rc=$?"'
            for index, (name, arguments) in enumerate(facts)
        )

    def process(self, output: list[str]) -> list:
        first = output[0].split() if output else []
        if len(first) != 3 or first[0] != _MARK:
            return []
        mark = f"{_MARK} {first[1]} "
        sections: dict[int, list[str]] = {}
        failed: set[int] = set()
        current: list[str] = []
        for line in output:
            index, _, status = line.removeprefix(mark).partition(" ")
            if not (line.startswith(mark) and index.isdigit()):
                current.append(line)
            elif not status:
                current = sections.setdefault(int(index), [])
            elif status != "rc=0":
                failed.add(int(index))
        count = max(sections, default=-1) + 1
        return [None if i in failed else sections.get(i) for i in range(count)]


def read_snapshot(facts: list[tuple[type[FactBase], dict[str, Any]]]) -> None:
    """Read `facts` ([(fact, arguments)]) of the current host in one command and keep each
    value for `read_once`. A fact whose section failed or is missing is left to be read on
    its own when first needed (and to fail there, naming itself)."""
    requested = [(fact.__name__, arguments) for fact, arguments in facts]
    sections = host.get_fact(Snapshot, facts=requested, nonce=secrets.token_hex(8))
    for (fact, arguments), lines in zip(facts, sections, strict=False):
        if lines is not None:
            remember(fact, arguments, fact().process(lines) if lines else fact().default())
