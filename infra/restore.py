"""What a restore is asked to do (`make restore`), checked before any host is contacted.

The request travels from tools/restore.py to deploys/restore.py in environment variables:
AKTIENANALYSE_RESTORE_HOST (the db host whose database is replaced), AKTIENANALYSE_RESTORE_CONFIRM
(the same name again: the guard against restoring over a live database by accident) and
exactly one of AKTIENANALYSE_RESTORE_TIME (an ISO 8601 time with its offset) or
AKTIENANALYSE_RESTORE_SET (a pgBackRest backup label).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

BACKUP_LABEL = re.compile(r"^[0-9]{8}-[0-9]{6}F(_[0-9]{8}-[0-9]{6}[DI])?$")


@dataclass(frozen=True)
class RestoreRequest:
    host: str
    time: str | None = None  # PostgreSQL's timestamptz text, offset included
    backup_set: str | None = None

    def pgbackrest_options(self) -> list[str]:
        """pgBackRest restore options: replay to the time, or to the end of the backup set;
        then promote, so the database accepts writes again."""
        if self.time is not None:
            return ["--type=time", f"--target={self.time}", "--target-action=promote"]
        return [f"--set={self.backup_set}", "--type=immediate", "--target-action=promote"]


def parse_request(env: Mapping[str, str]) -> RestoreRequest:
    """The restore request in `env`; ValueError naming the variable when it is not one."""
    host = env.get("AKTIENANALYSE_RESTORE_HOST", "")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.-]{0,252}", host):
        raise ValueError("AKTIENANALYSE_RESTORE_HOST: name the db host to restore (HOST=)")
    if env.get("AKTIENANALYSE_RESTORE_CONFIRM") != host:
        raise ValueError(
            "AKTIENANALYSE_RESTORE_CONFIRM: must repeat the host name (CONFIRM=); a restore "
            "replaces that host's database"
        )
    time, backup_set = env.get("AKTIENANALYSE_RESTORE_TIME"), env.get("AKTIENANALYSE_RESTORE_SET")
    if (time is None) == (backup_set is None):
        raise ValueError("AKTIENANALYSE_RESTORE_TIME / _SET: give exactly one (TIME= or SET=)")
    if backup_set is not None:
        if not BACKUP_LABEL.fullmatch(backup_set):
            raise ValueError("AKTIENANALYSE_RESTORE_SET: not a pgBackRest backup label")
        return RestoreRequest(host, backup_set=backup_set)
    try:
        moment = datetime.fromisoformat(time)
    except ValueError:
        raise ValueError("AKTIENANALYSE_RESTORE_TIME: not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise ValueError("AKTIENANALYSE_RESTORE_TIME: give the offset (e.g. +01:00 or Z)")
    return RestoreRequest(host, time=moment.isoformat(sep=" "))
