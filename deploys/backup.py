"""Backups: pgBackRest for PostgreSQL (group db) and copies of Redis' snapshots (group cache).

Settings: `backup` (enabled, path, require_mount, schedules, retention) and the secret
`pgbackrest_cipher_pass` (the repository is encrypted, aes-256-cbc). PostgreSQL archives
every WAL segment into the repository (deploys/postgresql.py); the first converge creates the
stanza, checks that archiving works and takes the first full backup. Later backups, each
followed by pgBackRest's own `verify`, are timers (deploys/jobs.py). `backup.path` must be a
mount of its own (another disk or host), so a lost data disk does not take the backups along.

Why pgBackRest: Debian packages it, it does WAL archiving, full/diff/incremental backups,
retention, encryption, verification and point-in-time restore in one tool, and a restore is
one command (`make restore`, tools/restore.py).
"""

from __future__ import annotations

import shlex

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import server

from facts.files import file_state
from facts.kernel import MountPoints
from facts.once import read_once
from facts.snapshot import Read, file_entries, files_in
from infra.hostdata import settings
from infra.jobs import REDIS_COPY, STANZA, STATUS_DIR, redis_copies, repository, stamp
from infra.operations import ensure_directory
from infra.pgcluster import DATA_DIR
from infra.settings import Settings
from infra.templating import put_rendered

CONFIG = "/etc/pgbackrest.conf"
PACKAGES: list[str] = []  # pgBackRest comes with PostgreSQL (deploys/postgresql.py)
PGBACKREST = f"runuser -u postgres -- pgbackrest --stanza={STANZA}"


def facts(own: Settings) -> list[Read]:
    """What the backups read on a db or cache host, when backups are enabled."""
    if not own.backup.enabled or not {"db", "cache"} & set(host.groups):
        return []
    reads = files_in(
        own.backup.path,
        STATUS_DIR,
        f"{STATUS_DIR}/postgresql",
        f"{STATUS_DIR}/redis",
        repository(own),
        redis_copies(own),
        f"{repository(own)}/backup/{STANZA}",
        "/var/log/pgbackrest",
        "/var/spool/pgbackrest",
    )
    if "db" in host.groups:
        reads += file_entries(CONFIG)
    if own.backup.require_mount:
        reads.append((MountPoints, {}))
    return reads


@deploy("Backups")
def apply(primary: bool = True) -> None:
    """`primary`: this db host writes (a PostgreSQL cluster's standby cannot make the stanza;
    the repository on each member is the one its primary time fills)."""
    own = settings()
    if not own.backup.enabled or not {"db", "cache"} & set(host.groups):
        return
    if not _backup_path(own):
        return
    if "db" in host.groups:
        _postgresql(own, primary)
    if "cache" in host.groups:
        _redis(own)


def _backup_path(own: Settings) -> bool:
    """The backup path's directories, or an operation that fails the host (False) when the
    path must be a mount point and is not."""
    path = own.backup.path
    if own.backup.require_mount and path not in read_once(MountPoints):
        reason = (
            f"backup.path {path} is not a mount point: backups on the data's own disk die with "
            "it (mount another disk or host there, or set backup.require_mount: false)"
        )
        server.shell(name=f"Refuse: {reason}", commands=[f"echo {shlex.quote(reason)} >&2; exit 1"])
        return False
    ensure_directory(name="Backup path", path=path, user="root", group="root", mode="755")
    ensure_directory(name="Backup status", path=STATUS_DIR, user="root", group="root", mode="755")
    return True


def _postgresql(own: Settings, primary: bool) -> None:
    repo = repository(own)
    owned = {
        repo: "750",
        "/var/log/pgbackrest": "750",
        "/var/spool/pgbackrest": "750",
        f"{STATUS_DIR}/postgresql": "755",
    }
    for path, mode in host.loop(owned.items()):
        ensure_directory(
            name=f"Directory {path}", path=path, user="postgres", group="postgres", mode=mode
        )
    put_rendered(
        CONFIG,
        {
            "repository": repo,
            "backup": own.backup,
            "cipher_pass": own.secrets["pgbackrest_cipher_pass"].get_secret_value(),
            "stanza": STANZA,
            "data_dir": DATA_DIR,
        },
        user="root",
        group="postgres",
        mode=640,
        sensitive=True,
    )
    if primary and file_state(f"{repo}/backup/{STANZA}/backup.info") is None:
        server.shell(
            name=f"pgBackRest stanza {STANZA}: create, check archiving, first full backup",
            commands=[
                f"{PGBACKREST} stanza-create",
                f"{PGBACKREST} check",
                f"{PGBACKREST} --type=full backup",
                f"runuser -u postgres -- touch {shlex.quote(stamp('postgresql'))}",
            ],
        )


def _redis(own: Settings) -> None:
    target = redis_copies(own)
    for path, mode in host.loop({target: "750", f"{STATUS_DIR}/redis": "755"}.items()):
        ensure_directory(
            name=f"Directory {path}", path=path, user="redis", group="redis", mode=mode
        )
    put_rendered(
        REDIS_COPY,
        {"copies": target, "keep": own.backup.redis_copies, "status": stamp("redis")},
        mode=755,
        check="sh -n {path}",
    )
    if not file_state(stamp("redis")):
        # The first copy now, as PostgreSQL's first full backup: its age is a Zabbix item
        # from the start (a missing stamp would leave the item unsupported, never alerting).
        server.shell(
            name="First Redis snapshot copy (once)", commands=[f"runuser -u redis -- {REDIS_COPY}"]
        )
