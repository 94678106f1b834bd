"""`backup`: pgBackRest for PostgreSQL (group db) and copies of Redis' snapshots (group cache)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from infra.settings.types import Calendar, Strict, check_safe_path

BACKUP_ROOTS = ("/srv/", "/mnt/", "/backup/", "/var/backups/")
DATA_DIRECTORIES = {"/var/lib/postgresql": "PostgreSQL's", "/var/lib/redis": "Redis'"}


def _backup_path(value: str) -> str:
    value = check_safe_path(value)
    for data_dir, whose in DATA_DIRECTORIES.items():
        if f"{value}/".startswith(f"{data_dir}/") or f"{data_dir}/".startswith(f"{value}/"):
            raise ValueError(
                f"holds or is inside {whose} data directory: a backup there dies with the disk "
                "it protects"
            )
    if not any(f"{value}/".startswith(root) and f"{value}/" != root for root in BACKUP_ROOTS):
        raise ValueError(f"must be below one of {', '.join(BACKUP_ROOTS)} (another disk's mount)")
    return value


class Backup(Strict):
    """pgBackRest for PostgreSQL (group db) and copies of Redis' snapshots (group cache)."""

    enabled: bool = Field(True, description="back up PostgreSQL (WAL archive + timers) and Redis")
    path: Annotated[str, AfterValidator(_backup_path)] = Field(
        "/srv/backup",
        description="where backups go: the mount of another disk or host, never the data's own",
    )
    require_mount: bool = Field(
        True, description="refuse (fail the host) when `path` is not a mount point of its own"
    )
    full_schedule: Calendar = Field(
        "Sun *-*-* 01:30", description="full backup (systemd calendar; seed 003: weekly)"
    )
    diff_schedule: Calendar = Field(
        "Mon..Sat *-*-* 01:30", description="differential backup on the other days"
    )
    retention_full: int = Field(4, ge=1, le=100, description="full backups kept (with their WAL)")
    retention_diff: int = Field(7, ge=1, le=100, description="differential backups kept")
    max_age_hours: int = Field(
        26, ge=1, le=24 * 14, description="Zabbix problem when the last verified backup is older"
    )
    redis_schedule: Calendar = Field(
        "*-*-* *:20:00", description="copy Redis' RDB snapshot to `path` (hourly)"
    )
    redis_copies: int = Field(48, ge=1, le=10000, description="Redis snapshot copies kept")
