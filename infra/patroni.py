"""Patroni's configuration as deploys/patroni.py writes it, and the one call that changes the
cluster's dynamic configuration afterwards (pure, apart from the operation)."""

from __future__ import annotations

import json
import shlex

from pydantic import SecretStr
from pyinfra.api import operation

from infra.cluster import ETCD_CLIENT_PORT, NAMESPACE, POSTGRES_PORT, REST_PORT, SCOPE
from infra.credentials import service_password
from infra.jobs import STANZA
from infra.operations import with_secret_input
from infra.pgcluster import CONF_DIR, DATA_DIR
from infra.settings import Settings

BIN_DIR = "/usr/lib/postgresql/15/bin"
REPLICATION_ROLE = "replicator"
# pg_rewind's login to the new primary (an old primary rejoining): a role that may only read
# the files pg_rewind compares (PostgreSQL's documented grants), not the superuser.
REWIND_ROLE = "rewind"
REWIND_GRANTS = (
    "pg_catalog.pg_ls_dir(text, boolean, boolean)",
    "pg_catalog.pg_stat_file(text, boolean)",
    "pg_catalog.pg_read_binary_file(text)",
    "pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean)",
)
REST_USER = "patroni"
# Patroni's timing (seconds): a lost leader's key expires after ttl; loop_wait + 2 *
# retry_timeout must stay below it. A failover takes about ttl + 2 s.
TIMING = {"ttl": 6, "loop_wait": 1, "retry_timeout": 2}
# Set by Patroni from its own configuration; never part of the dynamic parameters.
PATRONI_OWNS = {"listen_addresses", "port", "hba_file", "ident_file"}


def dynamic_configuration(parameters: dict[str, str]) -> dict:
    """What Patroni keeps in etcd (/config) that this deploy decides."""
    return {
        **TIMING,
        "maximum_lag_on_failover": 1048576,
        "synchronous_mode": True,  # not strict: with its standby gone the primary still writes
        "synchronous_mode_strict": False,
        "failsafe_mode": True,  # an etcd outage alone demotes no primary all members can see
        "postgresql": {
            "use_pg_rewind": True,
            "use_slots": True,
            "parameters": {k: v for k, v in parameters.items() if k not in PATRONI_OWNS},
        },
    }


def config_patch(current: dict | None, wanted: dict) -> dict:
    """The PATCH /config body that makes `current` hold `wanted`: the keys of ours that
    differ, nothing else. A parameter no longer in the settings stays in Patroni's
    configuration (it may be an operator's, from `patronictl edit-config`): remove it there.
    Empty when nothing differs."""
    current = current or {}
    patch = {k: v for k, v in wanted.items() if k != "postgresql" and current.get(k) != v}
    have = (current.get("postgresql") or {}).get("parameters") or {}
    want = wanted["postgresql"]["parameters"]
    parameters = {k: v for k, v in want.items() if str(have.get(k)) != str(v)}
    pg = {k: v for k, v in wanted["postgresql"].items() if k != "parameters"}
    pg = {k: v for k, v in pg.items() if (current.get("postgresql") or {}).get(k) != v}
    if parameters:
        pg["parameters"] = parameters
    return patch | ({"postgresql": pg} if pg else {})


def patroni_config(
    own: Settings, name: str, me: str, parameters: dict[str, str], from_repository: bool = False
) -> dict:
    """/etc/patroni/15-main.yml (Debian's layout; rendered here, not by
    pg_createconfig_patroni, which guesses addresses and writes a placeholder password)."""
    superuser = own.secrets["postgresql_superuser_password"].get_secret_value()
    return {
        "scope": SCOPE,
        "namespace": NAMESPACE,
        "name": name,
        # This host's own etcd member only (no discovery): a dead peer's member never holds
        # up Patroni's requests; the local member forwards to the etcd leader.
        "etcd3": {"hosts": [f"127.0.0.1:{ETCD_CLIENT_PORT}"], "use_proxies": True},
        "restapi": {
            "listen": f"{me}:{REST_PORT}",
            "connect_address": f"{me}:{REST_PORT}",
            "authentication": {
                "username": REST_USER,
                "password": rest_password(own).get_secret_value(),
            },
        },
        "bootstrap": {"dcs": dynamic_configuration(parameters)},
        "postgresql": {
            "listen": f"127.0.0.1,{me}:{POSTGRES_PORT}",
            "connect_address": f"{me}:{POSTGRES_PORT}",
            "use_unix_socket": True,
            "data_dir": DATA_DIR,
            "bin_dir": BIN_DIR,
            "custom_conf": f"{CONF_DIR}/postgresql.conf",
            "pgpass": "/var/lib/postgresql/15-main.pgpass",
            "authentication": {
                "superuser": {"username": "postgres", "password": superuser},
                "replication": {
                    "username": REPLICATION_ROLE,
                    "password": own.secrets["postgresql_replication_password"].get_secret_value(),
                },
                "rewind": {
                    "username": REWIND_ROLE,
                    "password": rewind_password(own).get_secret_value(),
                },
            },
            "parameters": {
                "hba_file": f"{CONF_DIR}/pg_hba.conf",
                "ident_file": f"{CONF_DIR}/pg_ident.conf",
                "unix_socket_directories": "/var/run/postgresql",
            },
            **_replica_methods(from_repository),
        },
        "watchdog": {"mode": "off"},  # a container has none (see the docstring)
    }


ROLE_CHANGE = "/usr/local/sbin/aktienanalyse-patroni-role-change"  # a new primary switches WAL


def _replica_methods(from_repository: bool) -> dict:
    """How Patroni builds a replica: from the pgBackRest repository when there is a backup
    host (the primary is not read for it; `--delta` reuses what the data directory holds),
    else, or when that fails (no backup yet), by pg_basebackup from the primary; with a
    repository, replicas also read WAL the primary no longer has from its archive."""
    methods = {"create_replica_methods": ["basebackup"], "basebackup": [{"checkpoint": "fast"}]}
    if from_repository:
        methods["create_replica_methods"] = ["pgbackrest", "basebackup"]
        methods["pgbackrest"] = {
            "command": f"/usr/bin/pgbackrest --stanza={STANZA} --delta restore",
            "keep_data": True,
            "no_params": True,
        }
        # A replica that is behind what the primary still keeps (one restored from an older
        # backup, one that was down for long) takes the rest from the archive.
        methods["recovery_conf"] = {
            "restore_command": f'/usr/bin/pgbackrest --stanza={STANZA} archive-get %f "%p"'
        }
        methods["callbacks"] = {"on_role_change": ROLE_CHANGE}
    return methods


def rest_password(own: Settings) -> SecretStr:
    """Patroni's REST API password (its writes: PATCH /config, switchover), derived."""
    return service_password(own.secrets["postgresql_superuser_password"], "patroni", "rest")


def changed_keys(patch: dict) -> list[str]:
    """The dotted keys a patch changes, for the operation's name (values are not secret, but
    a name stays short)."""
    keys = [k for k in patch if k != "postgresql"]
    pg = patch.get("postgresql", {})
    keys += [f"postgresql.{k}" for k in pg if k != "parameters"]
    keys += [f"parameters.{k}" for k in pg.get("parameters", {})]
    return sorted(keys)


@operation()
def patch_dynamic_configuration(url: str, patch: dict, password: SecretStr):
    """
    Send `patch` to Patroni's PATCH /config; the REST API's credentials reach curl on its
    standard input (a curl config), never its command line.

    + url: the member's /config URL
    + patch: the JSON body (infra/patroni.config_patch)
    + password: the REST API's password (rest_password)
    """
    credentials = f'user = "{REST_USER}:{password.get_secret_value()}"\n'
    body = shlex.quote(json.dumps(patch, sort_keys=True))
    command = (
        f"curl -fsS -o /dev/null -X PATCH -K - -H 'Content-Type: application/json' -d {body} {url}"
    )
    yield from with_secret_input("patroni-rest.curl", credentials, command)


def rewind_password(own: Settings) -> SecretStr:
    """pg_rewind's password (role REWIND_ROLE), derived from the superuser's."""
    return service_password(own.secrets["postgresql_superuser_password"], "patroni", "rewind")


# Exit 0 when `patronictl list -f json` (stdin) shows every member running, none pending.
_SETTLED = (
    "import json, sys; members = json.load(sys.stdin); "
    'sys.exit(not all(m.get("State") == "running" and not m.get("Pending restart") '
    "for m in members))"
)


def restart_pending_commands(config: str) -> list[str]:
    """Restart the members with a pending restart (the primary, then the standbys) until
    every member runs with none pending: a member marks itself pending in its next loop
    after a change, and `patronictl restart --pending` skips one that has not yet (exit 0).
    Fails after a minute, listing the members."""
    ctl = f"patronictl -c {shlex.quote(config)}"
    restart = f"{ctl} restart {SCOPE} --pending --force --role"
    settled = f"{ctl} list -f json | python3 -c {shlex.quote(_SETTLED)}"
    return [
        f"sleep {2 * TIMING['loop_wait'] + 2}",
        f"for i in $(seq 30); do {restart} primary && {restart} replica && {settled} && exit 0; "
        f"sleep 2; done; {ctl} list >&2; exit 1",
    ]
