"""Backups: pgBackRest for PostgreSQL (groups db and backup) and copies of Redis' snapshots
(group cache).

Settings: `backup` (enabled, path, require_mount, schedules, retention) and the secret
`pgbackrest_cipher_pass` (the repository is encrypted, aes-256-cbc). PostgreSQL archives
every WAL segment into the repository (deploys/postgresql.py); the first converge creates the
stanza, checks that archiving works and takes the first full backup. Later backups, each
followed by pgBackRest's own `verify`, are timers (deploys/jobs.py). `backup.path` must be a
mount of its own (another disk or host), so a lost data disk does not take the backups along.

Where the repository is:
- no `backup` host: on the db host, under `backup.path` (one db host only);
- a `backup` host (required by a PostgreSQL cluster): there, and only there. The db hosts and
  it talk through pgBackRest's TLS server (`pgbackrest.service`, port 8432, certificates from
  infra/pgbackrest.py); it backs up whichever db host is the primary, the primary archives to
  it, and Patroni builds a new replica from it.

Why pgBackRest: Debian packages it, it does WAL archiving, full/diff/incremental backups,
retention, encryption, verification and point-in-time restore in one tool, and a restore is
one command (`make restore`, tools/restore.py).
"""

from __future__ import annotations

import shlex

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import server, systemd

from facts.files import file_state
from facts.kernel import MountPoints
from facts.once import read_once
from facts.snapshot import Read, file_entries, files_in
from facts.systemd import unit_state
from infra.effects import run_if_changed
from infra.hostdata import address, members, repository_host, secret, settings
from infra.jobs import REDIS_COPY, STANZA, STATUS_DIR, redis_copies, repository, stamp
from infra.operations import checked_file, ensure_directory, ensure_service
from infra.pgbackrest import CA_FILE, CERT_FILE, KEY_FILE, TLS_DIR, TLS_PORT, tls_files
from infra.pgcluster import DATA_DIR
from infra.settings import Settings
from infra.templating import put_rendered

CONFIG = "/etc/pgbackrest.conf"
PGBACKREST = f"runuser -u postgres -- pgbackrest --stanza={STANZA}"
SPOOL = ["/var/log/pgbackrest", "/var/spool/pgbackrest"]
SERVER = "pgbackrest.service"  # Debian's: `pgbackrest server`, as postgres


def packages(own: Settings) -> list[str]:
    """pgBackRest comes with PostgreSQL on db hosts (deploys/postgresql.py); the backup host's
    (its dependency postgresql-common makes the account `postgres` that owns the repository)."""
    return ["pgbackrest"] if "backup" in host.groups and own.backup.enabled else []


def _role(own: Settings) -> str | None:
    """What this host does for PostgreSQL's backups: `repository` (the backup host), `client`
    (a db host archiving to it), `local` (a db host with its own repository), or None."""
    if not own.backup.enabled:
        return None
    if "backup" in host.groups:
        return "repository"
    if "db" in host.groups:
        return "client" if repository_host() else "local"
    return None


def facts(own: Settings) -> list[Read]:
    """What the backups read on a db, cache or backup host, when backups are enabled."""
    role = _role(own)
    cache = own.backup.enabled and "cache" in host.groups
    if role is None and not cache:
        return []
    reads = files_in(
        own.backup.path,
        STATUS_DIR,
        f"{STATUS_DIR}/postgresql",
        f"{STATUS_DIR}/redis",
        repository(own),
        redis_copies(own),
        f"{repository(own)}/backup/{STANZA}",
        TLS_DIR,
        *SPOOL,
    )
    if role:
        reads += file_entries(CONFIG)
    if own.backup.require_mount:
        reads.append((MountPoints, {}))
    return reads


@deploy("Backups")
def apply() -> None:
    own = settings()
    role = _role(own)
    cache = own.backup.enabled and "cache" in host.groups
    if role is None and not cache:
        return
    # A client's PostgreSQL backups go to the backup host: it needs the path only for Redis.
    if (role != "client" or cache) and not _backup_path(own):
        return
    if role:
        _postgresql(own, role)
    if cache:
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


def _postgresql(own: Settings, role: str) -> None:
    owned = {path: "750" for path in SPOOL}
    if role != "client":
        owned |= {repository(own): "750", f"{STATUS_DIR}/postgresql": "755"}
    for path, mode in host.loop(owned.items()):
        ensure_directory(
            name=f"Directory {path}", path=path, user="postgres", group="postgres", mode=mode
        )
    cipher_pass = secret("pgbackrest_cipher_pass")
    tls = None if role == "local" else _tls(cipher_pass, role)
    changed = dict(tls["changed"]) if tls else {}
    changed[CONFIG] = put_rendered(
        CONFIG,
        {
            "repository": repository(own) if role != "client" else None,
            "backup": own.backup,
            "cipher_pass": cipher_pass.get_secret_value() if role != "client" else None,
            "stanza": STANZA,
            "data_dir": DATA_DIR,
            "tls": tls,
        },
        user="root",
        group="postgres",
        mode=640,
        sensitive=True,  # a client's too: its diff from a former local one shows the pass
    )
    if not tls:  # a local repository needs no server (one left from a former backup host)
        found = unit_state(SERVER)
        if found["active"] == "active" or found["file"] == "enabled":
            systemd.service(
                name="Stop the pgBackRest TLS server", service=SERVER, running=False, enabled=False
            )
        return
    ensure_service(name="pgBackRest TLS server", service=SERVER, running=True, enabled=True)
    run_if_changed(
        changed,
        systemd.service,
        effect="restart",
        name="Restart the pgBackRest TLS server",
        service=SERVER,
        restarted=True,
    )


def _tls(cipher_pass, role: str) -> dict:
    """This host's certificate files, and the template's view of who it talks to."""
    files = tls_files(cipher_pass, host.name, address(host))
    ensure_directory(name=f"Directory {TLS_DIR}", path=TLS_DIR, user="root", group="root", mode=755)
    changed = {
        CA_FILE: checked_file(name=f"Render {CA_FILE}", dest=CA_FILE, content=files.ca, mode=644),
        CERT_FILE: checked_file(
            name=f"Render {CERT_FILE}", dest=CERT_FILE, content=files.certificate, mode=644
        ),
        KEY_FILE: checked_file(
            name=f"Render {KEY_FILE}",
            dest=KEY_FILE,
            content=files.key.get_secret_value(),
            user="root",
            group="postgres",
            mode=640,
            sensitive=True,
        ),
    }
    repo = repository_host()
    db = sorted(members("db"), key=lambda h: h.name)  # by name: the inventory's order may change
    return {
        "changed": changed,
        "repository": repo.name,
        "repository_address": address(repo),
        "address": address(host),
        "port": TLS_PORT,
        "ca_file": CA_FILE,
        "cert_file": CERT_FILE,
        "key_file": KEY_FILE,
        "clients": [h.name for h in db] if role == "repository" else [repo.name],
        "db_addresses": [address(h) for h in db],
    }


def first_backup() -> None:
    """The stanza, a check that archiving works and the first full backup, once, where the
    repository is (after the barrier: a backup host needs the db hosts' TLS servers up)."""
    own = settings()
    role = _role(own)
    if role not in ("repository", "local"):
        return
    if file_state(f"{repository(own)}/backup/{STANZA}/backup.info") is None:
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
