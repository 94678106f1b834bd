"""Releases: what each service has installed, what `current` points at, what really runs.

A running instance's release is read from its process: the console script's interpreter is
the release venv's python, so /proc/<MainPID>/cmdline names the venv even though the unit
starts it through the `current` link.
"""

from __future__ import annotations

import re
import shlex

from pyinfra.api import FactBase

_RELEASE = re.compile(r"/releases/[^/]+/([^/]+)/bin/")


class Releases(FactBase):
    """{service: {"current": version|None, "installed": [versions, oldest first],
    "live": [versions switched to, oldest first], "running": {port: version|None},
    "active": [ports with a process, whether or not from a release]}} for the given
    (service, ports) pairs."""

    default = dict

    def command(self, base_dir: str, services: list[tuple[str, list[int]]]) -> str:
        parts = []
        base_dir = shlex.quote(base_dir)  # services and ports are the settings' own names
        for service, ports in services:
            parts.append(
                f'echo "current {service} $(readlink {base_dir}/current/{service})"; '
                f"for d in $(ls -1tr --directory {base_dir}/releases/{service}/*/.complete "
                f'2>/dev/null); do echo "installed {service} $d"; done; '
                f"tail -n 50 {base_dir}/releases/{service}/.history 2>/dev/null "
                f'| sed "s/^/live {service} /"'
            )
            for port in ports:
                unit = f"aktienanalyse-{service}@{port}.service"
                parts.append(
                    f"pid=$(systemctl show -p MainPID --value {unit}); "
                    f'if [ "$pid" -gt 0 ] 2>/dev/null; then '
                    f'echo "running {service} {port} $(tr "\\0" " " < /proc/$pid/cmdline)"; '
                    f'else echo "running {service} {port} -"; fi'
                )
        return "; ".join(parts) or "true"

    def process(self, output: list[str]) -> dict:
        return parse(output)


def parse(lines: list[str]) -> dict:
    services: dict[str, dict] = {}
    for line in lines:
        kind, service, value = [*line.split(" ", 2), "", ""][:3]
        entry = services.setdefault(
            service, {"current": None, "installed": [], "live": [], "running": {}, "active": []}
        )
        value = value.strip()
        if kind == "current" and value:
            entry["current"] = value.rstrip("/").rsplit("/", 1)[-1]
        elif kind == "live" and value:
            entry["live"].append(value)
        elif kind == "installed":
            entry["installed"].append(value.split("/")[-2])
        elif kind == "running":
            port, _, cmdline = value.partition(" ")
            found = _RELEASE.search(cmdline)
            entry["running"][int(port)] = found.group(1) if found else None
            if cmdline != "-":  # a main PID, even one whose command line could not be read
                entry["active"].append(int(port))
    return services
