"""What the acceptance tests know about the lab: its hosts, groups and files (.lab/)."""

from __future__ import annotations

import json
import subprocess

from lab.topology import LAB_DIR

MANIFEST = json.loads((LAB_DIR / "hosts.json").read_text())
SSH_CONFIG = str(LAB_DIR / "ssh_config")


def hosts(group: str | None = None) -> list[str]:
    """testinfra host specs for the lab hosts (in `group`, if given)."""
    return [
        f"ssh://{h['name']}?ssh_config={SSH_CONFIG}"
        for h in MANIFEST["hosts"]
        if group is None or group in h["groups"]
    ]


def ssh(host: str, command: str, user: str = "root") -> subprocess.CompletedProcess:
    """Run `command` on a lab host as `user` over a real SSH login."""
    return subprocess.run(
        ["ssh", "-F", SSH_CONFIG, "-l", user, "-o", "BatchMode=yes", host, command],
        capture_output=True,
        text=True,
        timeout=60,
    )
