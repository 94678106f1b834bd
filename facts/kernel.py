"""Kernel settings as a host sees them, and whether it may change them.

An LXC container usually sees /proc/sys read-only: the value is the LXC host's to set.
"""

from __future__ import annotations

import re

from pyinfra.api import FactBase


class Sysctl(FactBase):
    """{"value": current value or None, "writable": whether this host may set it}."""

    def command(self, key: str) -> str:
        path = "/proc/sys/" + key.replace(".", "/")
        return f"cat {path} 2>/dev/null; [ -w {path} ] && echo writable || echo read-only"

    def process(self, output: list[str]) -> dict:
        return {
            "value": output[0] if len(output) > 1 else None,
            "writable": output[-1] == "writable",
        }


class MountPoints(FactBase):
    """The mount points this host sees (Linux: /proc/self/mountinfo's fifth field, its octal
    escapes undone). pyinfra's Mounts costs a `uname -s` first."""

    default = set

    def command(self) -> str:
        return "cat /proc/self/mountinfo"

    def process(self, output: list[str]) -> set[str]:
        return {
            re.sub(r"\\([0-7]{3})", lambda octal: chr(int(octal[1], 8)), fields[4])
            for fields in (line.split() for line in output)
            if len(fields) > 4
        }
