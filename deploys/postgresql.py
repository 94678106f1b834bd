"""PostgreSQL 15 (group `db`): tuned from effective memory, scram-only, open to app hosts only.

Settings: `postgresql` (max_connections, storage, overrides, app_role, databases, extensions),
`backup.enabled` (WAL archiving to pgBackRest) and the secret `postgresql_app_password`, from
which each service's own role password is derived (infra/credentials.py).
Who may connect comes from the inventory: the `address` of every other host in group `app`;
with none, PostgreSQL listens on localhost only.

A changed drop-in restarts PostgreSQL only when a restart-only (postmaster) parameter changed
or one is still pending from an earlier run; otherwise it reloads; unchanged files do neither.
"""

from __future__ import annotations

import hashlib
import re
import shlex

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.files import FileContents
from pyinfra.operations import files, postgres, server

from facts.files import file_state
from facts.once import read_once
from facts.postgresql import (
    UNIT,
    PostgresqlExtensions,
    PostgresqlMonitoringRole,
    PostgresqlRoleVerifier,
    PostgresqlRuntime,
    PostgresqlServiceAccess,
)
from facts.resources import EffectiveResources
from facts.snapshot import Read
from infra import tuning
from infra.credentials import database_roles, service_password
from infra.effects import reload_if_changed, restart_service, run_if_changed
from infra.hostdata import address, cluster, peer_addresses, settings
from infra.jobs import STANZA
from infra.operations import PSQL, checked_file, ensure_service, extension, role_password
from infra.patroni import REPLICATION_ROLE, REWIND_GRANTS, REWIND_ROLE, rewind_password
from infra.pgcluster import CONF_DIR, DATA_DIR, RESTART_ONLY, directories_read, secure_directories
from infra.services import CORE
from infra.settings import Settings
from infra.templating import put_rendered, render

PACKAGES = ["postgresql-15", "postgresql-client-15"]
BACKUP_PACKAGES = ["pgbackrest"]  # archive_command needs it from the first start
POSTGRES = "/usr/lib/postgresql/15/bin/postgres"
DROP_IN = f"{CONF_DIR}/conf.d/50-aktienanalyse.conf"
HBA_FILE = f"{CONF_DIR}/pg_hba.conf"
MONITORING_ROLE = "zabbix"  # the agent's OS user, for peer authentication
_SETTING = re.compile(r"^\s*([a-z][a-z0-9_.]*)\s*=\s*'((?:[^']|'')*)'")


def parameters(settings: Settings, resources: dict, listen_addresses: str) -> dict[str, str]:
    """Everything the drop-in sets: the tuning, access, pg_stat_statements, then overrides."""
    pg = settings.postgresql
    values = tuning.postgresql(
        resources["memory_bytes"], resources["cpus"], pg.max_connections, pg.storage
    )
    values |= {
        "listen_addresses": listen_addresses,
        "password_encryption": "scram-sha-256",
        "shared_preload_libraries": "pg_stat_statements",
    }
    if settings.backup.enabled:  # every WAL segment to pgBackRest's repository (deploys/backup.py)
        values |= {
            "archive_mode": "on",
            "archive_command": f"pgbackrest --stanza={STANZA} archive-push %p",
            "archive_timeout": "300",  # a quiet database still ships its WAL every 5 minutes
        }
    return values | {name: str(value) for name, value in pg.overrides.items()}


def server_accepts(values: dict[str, str]) -> str:
    """A check that PostgreSQL's own parser accepts every parameter name and value: `postgres
    -C` reads the configuration plus these as `-c name=value` and exits with its error."""
    options = " ".join(shlex.quote(f"-c{name}={value}") for name, value in sorted(values.items()))
    config = f"-c config_file={CONF_DIR}/postgresql.conf"
    return f"runuser -u postgres -- {POSTGRES} -D {DATA_DIR} {config} {options} -C port >/dev/null"


def parse_drop_in(lines: list[str]) -> dict[str, str]:
    """The parameters a drop-in written by this deploy sets (name -> unquoted value)."""
    found = (_SETTING.match(line) for line in lines)
    return {m.group(1): m.group(2).replace("''", "'").replace("\\\\", "\\") for m in found if m}


def restart_reasons(
    old: dict[str, str], new: dict[str, str], restart_only: set[str], pending: set[str]
) -> list[str]:
    """Restart-only parameters that change (or wait for a restart already), sorted."""
    changed = {name for name in old.keys() | new.keys() if old.get(name) != new.get(name)}
    return sorted((changed & restart_only) | pending)


def packages(settings: Settings) -> list[str]:
    """The Debian packages this deploy needs (deploys/base.py installs every deploy's at once)."""
    return PACKAGES + (BACKUP_PACKAGES if settings.backup.enabled else [])


def facts(own: Settings) -> list[Read]:
    pg = own.postgresql
    cluster_roles = [REPLICATION_ROLE, REWIND_ROLE, "postgres"] if cluster().postgresql else []
    return [
        *((PostgresqlRoleVerifier, {"role": r}) for r in cluster_roles),
        (EffectiveResources, {}),  # tuning
        (PostgresqlRuntime, {}),
        (PostgresqlMonitoringRole, {"role": MONITORING_ROLE}),
        *((PostgresqlRoleVerifier, {"role": r}) for r in database_roles(pg.app_role).values()),
        *((PostgresqlExtensions, {"database": name}) for name in pg.databases),
        *((PostgresqlServiceAccess, service_access_arguments(own, name)) for name in pg.databases),
        *directories_read(),
    ]


@deploy("PostgreSQL")
def apply(clustered: bool = False, writes_objects: bool = True) -> None:
    """`clustered`: Patroni runs PostgreSQL (deploys/patroni.py), which then owns its
    parameters and its start; `writes_objects`: this host is the one whose roles and
    databases the others replicate (always, without a cluster)."""
    own = settings()
    pg = own.postgresql
    secure_directories(conf_d=True)
    if clustered:
        _clustered_access(own)
    else:
        _plain_server(own)
    if not writes_objects:
        return
    as_postgres = {"_sudo": True, "_sudo_user": "postgres"}
    if clustered:
        _cluster_roles(own)
    missing = _service_roles(own)
    _monitoring_role()
    for database in pg.databases:
        postgres.database(
            name=f"Database {database}", database=database, owner=pg.app_role, **as_postgres
        )
        if missing[database]:
            _service_access(own, database)
        for extension_name in pg.extensions:
            extension(
                name=f"Extension {extension_name} in {database}",
                database=database,
                extension=extension_name,
            )


def _hba(own: Settings, clients: list[str], replicas: list[str]):
    pg = own.postgresql
    return put_rendered(
        HBA_FILE,
        {
            "role": ",".join(database_roles(pg.app_role).values()),
            "databases": ",".join(pg.databases),
            "app_addresses": clients,
            "replication_role": REPLICATION_ROLE,
            "rewind_role": REWIND_ROLE,
            "replica_addresses": replicas,
        },
        user="root",
        group="postgres",
        mode=640,
    )


def _clustered_access(own: Settings) -> None:
    """A cluster member: the services connect through HAProxy (from the lb hosts), the other
    members replicate and rewind; Patroni owns the parameters, so no drop-in is left."""
    hba = _hba(own, peer_addresses("lb"), peer_addresses("db"))
    if file_state(DROP_IN) is not None:
        files.file(
            name=f"Remove {DROP_IN} (Patroni owns the parameters)", path=DROP_IN, present=False
        )
    run_if_changed(
        {"pg_hba.conf": hba},
        server.shell,
        effect="reload",
        name="Reload PostgreSQL (pg_reload_conf)",
        commands=[f"if pg_isready -q; then {PSQL} -c 'SELECT pg_reload_conf()'; fi"],
    )


def _plain_server(own: Settings) -> None:
    app_addresses = peer_addresses("app")
    listen = ",".join(["localhost", address(host)] if app_addresses else ["localhost"])
    resources = read_once(EffectiveResources)
    wanted = parameters(own, resources, listen)

    ensure_service(name="PostgreSQL enabled", service="postgresql", enabled=True)
    ensure_service(name=f"{UNIT} running", service=UNIT, running=True)

    runtime = read_once(PostgresqlRuntime)
    drop_in_text = render(
        DROP_IN,
        parameters=wanted,
        memory_mib=resources["memory_bytes"] // 2**20,
        memory_source=resources["memory_source"],
        cpus=resources["cpus"],
    )
    # The live drop-in is read only when its checksum (the snapshot's listing) differs.
    digest = hashlib.sha1(drop_in_text.encode()).hexdigest()
    if (file_state(DROP_IN) or {}).get("sha1") == digest:
        current = wanted
    else:
        current = parse_drop_in(host.get_fact(FileContents, path=DROP_IN) or [])
    reasons = restart_reasons(
        current, wanted, runtime["restart_only"] or RESTART_ONLY, runtime["pending_restart"]
    )
    drop_in = checked_file(
        name=f"Render {DROP_IN}",
        dest=DROP_IN,
        content=drop_in_text,
        check=server_accepts(wanted),
        user="root",
        group="postgres",
        mode=644,
    )
    hba = _hba(own, app_addresses, [])
    if reasons:
        restart_service(
            name=f"Restart PostgreSQL ({', '.join(reasons)})", service=UNIT, because=reasons
        )
    else:
        reload_if_changed(
            {"tuning drop-in": drop_in, "pg_hba.conf": hba}, name="Reload PostgreSQL", service=UNIT
        )


def _cluster_roles(own: Settings) -> None:
    """The standbys' replication role, pg_rewind's role, and their and the superuser's
    passwords (Patroni's file holds all three)."""
    if read_once(PostgresqlRoleVerifier, role=REPLICATION_ROLE) is None:
        sql = (
            f"DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{REPLICATION_ROLE}')"
            f" THEN CREATE ROLE {REPLICATION_ROLE} REPLICATION LOGIN; END IF; END$$"
        )
        server.shell(
            name=f"Role {REPLICATION_ROLE} (replication)",
            commands=[f"{PSQL} -c {shlex.quote(sql)}"],
        )
    if read_once(PostgresqlRoleVerifier, role=REWIND_ROLE) is None:
        grants = "; ".join(
            f"GRANT EXECUTE ON FUNCTION {function} TO {REWIND_ROLE}" for function in REWIND_GRANTS
        )
        sql = (
            f"DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{REWIND_ROLE}')"
            f" THEN CREATE ROLE {REWIND_ROLE} LOGIN; END IF; END$$; {grants}"
        )
        server.shell(
            name=f"Role {REWIND_ROLE} (pg_rewind: reads the files it compares, nothing else)",
            commands=[f"{PSQL} -c {shlex.quote(sql)}"],
        )
    passwords = {
        REPLICATION_ROLE: own.secrets["postgresql_replication_password"],
        REWIND_ROLE: rewind_password(own),
        "postgres": own.secrets["postgresql_superuser_password"],
    }
    for role, password in host.loop(passwords.items()):
        role_password(name=f"Password of role {role}", role=role, password=password)


def service_access_arguments(settings: Settings, database: str) -> dict:
    """The PostgresqlServiceAccess fact's arguments (facts/snapshot.py reads it too)."""
    roles = database_roles(settings.postgresql.app_role)
    others = [role for name, role in roles.items() if name != CORE]
    owner = settings.postgresql.app_role
    return {"database": database, "owner": owner, "core": roles[CORE], "others": others}


def _service_roles(own: Settings) -> dict[str, list[str]]:
    """Each service's login role with its own password; the databases' owner cannot log in
    and the core's role is a member of it (infra/credentials.py). Returns what is missing in
    each database."""
    pg = own.postgresql
    missing = {
        database: read_once(PostgresqlServiceAccess, **service_access_arguments(own, database))
        for database in pg.databases
    }
    roles = database_roles(pg.app_role)
    if any(missing.values()):
        create = " ".join(
            f"IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN "
            f'CREATE ROLE "{role}" {"NOLOGIN" if role == pg.app_role else "LOGIN"}; END IF;'
            for role in [pg.app_role, *roles.values()]
        )
        sql = (
            f"DO $$BEGIN {create} END$$; "
            f'ALTER ROLE "{pg.app_role}" NOLOGIN PASSWORD NULL; '
            f'GRANT "{pg.app_role}" TO "{roles[CORE]}"'
        )
        server.shell(
            name="Service roles (the owner logs in no more)",
            commands=[f"{PSQL} -c {shlex.quote(sql)}"],
        )
    master = own.secrets["postgresql_app_password"]
    for service, role in host.loop(roles.items()):
        role_password(
            name=f"Password of role {role}",
            role=role,
            password=service_password(master, "postgresql", service),
        )
    return missing


def _service_access(own: Settings, database: str) -> None:
    """Data access for the services other than the core, on what exists and what the core's
    migrations (or the owner) will create."""
    arguments = service_access_arguments(own, database)
    others = ", ".join(f'"{role}"' for role in arguments["others"])
    grantors = f'"{arguments["owner"]}", "{arguments["core"]}"'
    dml = "SELECT, INSERT, UPDATE, DELETE"
    sql = (
        f"GRANT USAGE ON SCHEMA public TO {others}; "
        # Tables only: ON ALL TABLES would take the extensions' views too.
        "DO $$DECLARE t regclass; BEGIN FOR t IN SELECT c.oid FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' "
        f"AND c.relkind IN ('r', 'p') LOOP EXECUTE format('GRANT {dml} ON %s TO {others}', "
        "t); END LOOP; END$$; "
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {others}; "
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {grantors} IN SCHEMA public "
        f"GRANT {dml} ON TABLES TO {others}; "
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {grantors} IN SCHEMA public "
        f"GRANT USAGE, SELECT ON SEQUENCES TO {others}"
    )
    server.shell(
        name=f"Data access of the services in {database}",
        commands=[f"{PSQL} -d {shlex.quote(database)} -c {shlex.quote(sql)}"],
    )


def _monitoring_role() -> None:
    """The Zabbix agent's role: pg_monitor's read-only statistics, through the local socket as
    the agent's own user (peer, pg_hba.conf), no password. Debian's agent 2 is built without
    its PostgreSQL plugin, so infra/zabbix_items.py asks psql."""
    found = read_once(PostgresqlMonitoringRole, role=MONITORING_ROLE)
    if found == "member":
        return
    # Complete in itself: a fact read while PostgreSQL was down says "no role".
    sql = (
        f"DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{MONITORING_ROLE}') "
        f"THEN CREATE ROLE {MONITORING_ROLE} LOGIN; END IF; END$$; "
        f"GRANT pg_monitor TO {MONITORING_ROLE}"
    )
    server.shell(
        name=f"Role {MONITORING_ROLE} (pg_monitor, for the Zabbix agent)",
        commands=[f"{PSQL} -c {shlex.quote(sql)}"],
    )
