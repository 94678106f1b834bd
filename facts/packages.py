"""Which of a host's wanted Debian packages are installed: one dpkg-query for all of them."""

from __future__ import annotations

import shlex

from pyinfra.api import FactBase


class InstalledPackages(FactBase):
    """The names among `packages` that dpkg reports as installed ("ii"). Unlike pyinfra's
    DebPackages (the whole `dpkg -l`), it asks about the given names only."""

    default = set

    def command(self, packages: list[str]) -> str:
        names = " ".join(shlex.quote(name) for name in packages)
        # dpkg-query exits 1 when a name is unknown to dpkg, which only means "not installed".
        return (
            f"dpkg-query -W -f='${{Package}} ${{db:Status-Abbrev}}\\n' {names} 2>/dev/null; "
            "[ $? -le 1 ]"
        )

    def process(self, output: list[str]) -> set[str]:
        return {
            fields[0]
            for fields in (line.split() for line in output)
            if len(fields) >= 2 and fields[1] == "ii"
        }
