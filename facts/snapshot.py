"""What a converge consults about a host before deciding anything, in one command.

pyinfra runs operations one at a time across all hosts, each waiting for the slowest host;
an operation that reads a fact when it runs costs a round trip in every one of those steps.
`read_snapshot`, called by deploys/all.py before any operation, reads the accounts, the units
and the listings of the deploys' directories in a single command (in each host's own
preparation, all hosts at once) and keeps them for `read_once` (facts/once.py): the
operations then decide without contacting the host.
"""

from __future__ import annotations

import shlex

from pyinfra import host
from pyinfra.api import FactBase

from facts.accounts import Accounts
from facts.files import FilesIn
from facts.once import remember
from facts.systemd import UNIT_FILES, Units

_MARK = "##aktienanalyse-snapshot "


class Snapshot(FactBase):
    """{"accounts": Accounts, "units": Units, "directories": {directory: FilesIn}}."""

    def command(self, directories: list[str]) -> str:
        sections = [
            ("accounts", Accounts().command()),
            ("units", Units().command(files=UNIT_FILES)),
        ]
        sections += [(f"dir {d}", FilesIn().command(directory=d)) for d in directories]
        return "; ".join(
            f"echo {shlex.quote(_MARK + name)}; ( {command} )" for name, command in sections
        )

    def process(self, output: list[str]) -> dict:
        sections: dict[str, list[str]] = {}
        current: list[str] = []
        for line in output:
            if line.startswith(_MARK):
                current = sections.setdefault(line[len(_MARK) :], [])
            else:
                current.append(line)
        return {
            "accounts": Accounts().process(sections.get("accounts", [])),
            "units": Units().process(sections.get("units", [])),
            "directories": {
                name[len("dir ") :]: FilesIn().process(lines)
                for name, lines in sections.items()
                if name.startswith("dir ")
            },
        }


def read_snapshot(directories: list[str]) -> None:
    """Read the current host's Snapshot and keep its parts for `read_once`."""
    snapshot = host.get_fact(Snapshot, directories=directories)
    if not snapshot:
        return  # nothing read: every part is read on its own when first needed
    remember(Accounts, {}, snapshot["accounts"])
    remember(Units, {"files": UNIT_FILES}, snapshot["units"])
    for directory, listing in snapshot["directories"].items():
        remember(FilesIn, {"directory": directory}, listing)
