"""What this host's Redis Sentinel says of its ACL user for monitoring (deploys/sentinel.py)."""

from __future__ import annotations

import shlex

from pyinfra.api import FactBase

from infra.cluster import SENTINEL_CONFIG, SENTINEL_PORT

# Sentinel's own login (user `sentinel`) as its file holds it: the one Sentinel accepts, also
# when redis_replication_password was rotated after the file was written.
OWN_PASSWORD = (
    """awk '$1 == "sentinel" && $2 == "sentinel-pass" {print $3; exit}' """
    f"{shlex.quote(SENTINEL_CONFIG)} 2>/dev/null"
)


class SentinelUser(FactBase):
    """{"flags": [...], "passwords": [sha256 hex...], "commands": "<rules>"} of the Sentinel
    user `user`, or None: no Sentinel file or no answer (not started yet), or no such user.
    Asked as Sentinel's own user, whose password root reads from Sentinel's file (never from a
    command line)."""

    def command(self, user: str) -> str:
        return (
            f'pass=$({OWN_PASSWORD}); if [ -n "$pass" ]; then REDISCLI_AUTH="$pass" timeout 3 '
            f"redis-cli --no-auth-warning --user sentinel -p {SENTINEL_PORT} "
            f"ACL GETUSER {shlex.quote(user)} 2>/dev/null; fi; exit 0"
        )

    def process(self, output: list[str]):
        lines = [line.strip() for line in output]
        if not lines or lines[0] != "flags":
            return None
        found: dict[str, list[str]] = {}
        current = None
        for line in lines:
            if line in {"flags", "passwords", "commands", "keys", "channels", "selectors"}:
                current = found.setdefault(line, [])
            elif current is not None and line:
                current.append(line)
        return {
            "flags": found.get("flags", []),
            "passwords": found.get("passwords", []),
            "commands": " ".join(found.get("commands", [])),
        }
