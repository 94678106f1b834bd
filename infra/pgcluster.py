"""Debian's PostgreSQL 15 cluster `15/main` as the deploys find it, and the directories of it
that must not stay the postgres account's (deploys/postgresql.py, deploys/monitoring.py)."""

from __future__ import annotations

from pyinfra import host

from facts.snapshot import Read, files_in
from infra.operations import ensure_directory

CONF_DIR = "/etc/postgresql/15/main"
DATA_DIR = "/var/lib/postgresql/15/main"
HOME = "/var/lib/postgresql"
# Restart-only parameters the deploys set, for when PostgreSQL cannot tell (not running yet).
RESTART_ONLY = {
    "archive_mode",
    "listen_addresses",
    "max_connections",
    "max_worker_processes",
    "shared_buffers",
    "shared_preload_libraries",
    "wal_buffers",
}


def directories_read() -> list[Read]:
    """What secure_directories reads (a deploy calling it declares these in its facts())."""
    return files_in(HOME, "/etc/postgresql", "/etc/postgresql/15", CONF_DIR, f"{CONF_DIR}/conf.d")


def secure_directories(conf_d: bool) -> None:
    """pg_createcluster makes the configuration directories postgres's: root, which writes our
    files there, must not write through a path postgres controls, so they become root's
    (postgres reads them through its group). postgres's home is its own alone (0750)."""
    ensure_directory(
        name=f"postgres's home {HOME} (its own alone)",
        path=HOME,
        user="postgres",
        group="postgres",
        mode=750,
    )
    paths = ["/etc/postgresql", "/etc/postgresql/15", CONF_DIR]
    for path in host.loop(paths + ([f"{CONF_DIR}/conf.d"] if conf_d else [])):
        ensure_directory(
            name=f"Directory {path}", path=path, user="root", group="postgres", mode=755
        )
