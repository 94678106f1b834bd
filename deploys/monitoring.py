"""Zabbix server 6.0 with its PostgreSQL and web frontend/API (group `monitoring`, optional).

Production keeps its existing server (seed 000: 10.1.1.103) and has no monitoring host; the
lab's `split` topology has mon-1. `python -m tools.zabbix_register INVENTORY` then imports the
template and registers every host with its PSK through the API (docs/runbook.md).

Debian's packages throughout: zabbix-server-pgsql, zabbix-frontend-php under Apache with
mod_php, PostgreSQL 15 in its stock configuration. The database is local and reached over the
Unix socket with peer authentication (the server runs as zabbix; the frontend as www-data,
mapped to the zabbix role in pg_ident.conf), so no database password exists. The schema is
imported once, in one transaction. Apache serves it over HTTPS only (port 443). Settings: the
secrets `zabbix_admin_password`, the frontend's Admin password, stored as a bcrypt hash made
on the control machine, and `zabbix_tls_pem`, the HTTPS certificate and key.
"""

from __future__ import annotations

import bcrypt
from pydantic import SecretStr
from pyinfra import host
from pyinfra.api import deploy, operation
from pyinfra.operations import files, server

from facts.files import path_state
from facts.postgresql import UNIT as POSTGRESQL
from facts.snapshot import Read, files_in
from facts.zabbix import ZabbixDatabase
from infra.effects import reload_if_changed, restart_if_changed
from infra.hostdata import settings
from infra.operations import checked_file, ensure_directory, ensure_service, with_secret_input
from infra.pgcluster import CONF_DIR, directories_read, secure_directories
from infra.templating import put_rendered

PACKAGES = [
    "postgresql-15",
    "zabbix-server-pgsql",
    "zabbix-frontend-php",
    "php8.2-pgsql",
    "apache2",
    "libapache2-mod-php8.2",
]
PG_CONF = CONF_DIR
SERVER_CONFIG = "/etc/zabbix/zabbix_server.conf"
FRONTEND_CONFIG = "/etc/zabbix/zabbix.conf.php"
SCHEMA = [f"/usr/share/zabbix-server-pgsql/{part}.sql.gz" for part in ("schema", "images", "data")]
APACHE = "/etc/apache2"
APACHE_CONF = "zabbix-frontend-php.conf"
SITE = "aktienanalyse-zabbix.conf"
TLS_DIR = f"{APACHE}/aktienanalyse"
CERTIFICATE = f"{TLS_DIR}/zabbix.pem"
AS_ZABBIX_PSQL = "runuser -u zabbix -- psql -XAq -v ON_ERROR_STOP=1 -d zabbix"


def facts(own) -> list[Read]:
    apache = [
        "",
        "/aktienanalyse",
        "/sites-available",
        "/sites-enabled",
        "/mods-enabled",
        "/conf-enabled",
    ]
    return [
        *files_in(*(f"/etc/apache2{sub}" for sub in apache), "/etc/sudoers.d"),
        *directories_read(),
    ]


@deploy("Zabbix server")
def apply() -> None:
    secure_directories(conf_d=False)
    access = {
        name: put_rendered(
            f"{PG_CONF}/{name}",
            {},
            template=f"monitoring{PG_CONF}/{name}",
            name=f"{PG_CONF}/{name}: local peer connections only",
            user="root",
            group="postgres",
            mode=640,
        )
        for name in ("pg_hba.conf", "pg_ident.conf")
    }
    # Enabled as postgresql.service: Debian's generator enables the cluster instances from it.
    ensure_service(name="PostgreSQL enabled", service="postgresql", enabled=True)
    ensure_service(name="PostgreSQL running", service=POSTGRESQL, running=True)
    reload_if_changed(access, name="Reload PostgreSQL (access changed)", service=POSTGRESQL)

    # Its mode also fails `visudo -c`; nmap-based discovery is not used here. files.file, not
    # ensure_absent: the package puts it there during this very run, after the snapshot.
    files.file(
        name="No sudo rule for zabbix (the package's `nmap -O *` as root: a root shell)",
        path="/etc/sudoers.d/zabbix",
        present=False,
    )

    database = host.get_fact(ZabbixDatabase)
    if not database["database"]:
        server.shell(
            name="Role and database zabbix (UTF-8)",
            commands=[
                'runuser -u postgres -- psql -XAtq -c "SELECT 1 FROM pg_roles WHERE rolname = '
                "'zabbix'\" | grep -qx 1 || runuser -u postgres -- createuser zabbix",
                # Guarded here too: a fact read while PostgreSQL was down says "none".
                'runuser -u postgres -- psql -XAtq -c "SELECT 1 FROM pg_database WHERE datname = '
                "'zabbix'\" | grep -qx 1 || runuser -u postgres -- createdb -O zabbix -E UTF8 "
                "-T template0 --locale=C.UTF-8 zabbix",
            ],
        )
    if not database["schema"]:
        server.shell(
            name="Import Zabbix's schema, images and data (one transaction)",
            commands=[
                f"{AS_ZABBIX_PSQL} -Atc \"SELECT to_regclass('public.users') IS NOT NULL\" "
                f"| grep -qx t || zcat {' '.join(SCHEMA)} "
                f"| {AS_ZABBIX_PSQL} --single-transaction >/dev/null"
            ],
        )
    admin_password(
        name="Frontend user Admin: password from secret zabbix_admin_password",
        password=settings().secrets["zabbix_admin_password"],
        current_hash=database["admin_hash"],
    )

    server_config = put_rendered(
        SERVER_CONFIG, {}, name=f"Server configuration {SERVER_CONFIG}", group="zabbix", mode=640
    )
    put_rendered(
        FRONTEND_CONFIG,
        {},
        name=f"Frontend configuration {FRONTEND_CONFIG} (no password: peer authentication)",
        group="www-data",
        mode=640,
    )
    apache = _apache_https()
    ensure_service(
        name="Zabbix server running", service="zabbix-server", running=True, enabled=True
    )
    ensure_service(name="Apache running", service="apache2", running=True, enabled=True)
    restart_if_changed(
        {"server configuration": server_config},
        name="Restart the Zabbix server (configuration changed)",
        service="zabbix-server",
    )
    reload_if_changed(apache, name="Reload Apache (HTTPS or frontend changed)", service="apache2")


def _apache_https() -> dict:
    """Apache serves the frontend and API at /zabbix over TLS on 443 only (the API carries the
        Admin password, the session token and the PSKs), with the certificate of the secret
        zabbix_tls_pem; nothing listens on port 80 (ports.conf: the package's default site on *:80
    stays enabled and is never reached). Returns what changed, for the reload."""
    changed = {}
    ensure_directory(name=f"Directory {TLS_DIR}", path=TLS_DIR, user="root", group="root", mode=700)
    changed["certificate"] = checked_file(
        name=f"TLS certificate and key {CERTIFICATE} (secret zabbix_tls_pem)",
        dest=CERTIFICATE,
        content=settings().secrets["zabbix_tls_pem"].get_secret_value().strip() + "\n",
        check="openssl x509 -noout -in {path} && openssl pkey -noout -in {path}",
        mode=600,
        sensitive=True,
    )
    changed["ports"] = put_rendered(f"{APACHE}/ports.conf", {}, mode=644)
    changed["site"] = put_rendered(
        f"{APACHE}/sites-available/{SITE}", {"certificate": CERTIFICATE}, mode=644
    )
    modules = ("ssl.load", "ssl.conf", "socache_shmcb.load")
    links = [("conf", APACHE_CONF), ("sites", SITE), *(("mods", name) for name in modules)]
    for kind, name in host.loop(links):
        if (path_state(f"{APACHE}/{kind}-enabled/{name}") or {}).get("type") != "l":
            changed[f"{kind} {name}"] = files.link(
                name=f"Apache: enable {kind} {name}",
                path=f"{APACHE}/{kind}-enabled/{name}",
                target=f"../{kind}-available/{name}",
            )
    return changed


def frontend_hash(password: SecretStr) -> str:
    """The bcrypt hash the frontend stores: PHP writes $2y$, the same algorithm Python calls
    $2b$; cost 10, PHP's default, so the frontend never re-hashes it."""
    made = bcrypt.hashpw(password.get_secret_value().encode(), bcrypt.gensalt(rounds=10))
    return "$2y$" + made.decode()[4:]


@operation()
def admin_password(password: SecretStr, current_hash: str | None):
    """
    Set the frontend's Admin password unless its stored hash was made from it.

    + password: the wanted password; only a fresh bcrypt hash is sent
    + current_hash: Admin's hash as the database holds it (facts.zabbix.ZabbixDatabase)
    """
    secret = password.get_secret_value().encode()
    bcrypt_hash = current_hash and current_hash.startswith("$2")  # else: not ours, replace it
    if bcrypt_hash and bcrypt.checkpw(secret, current_hash.encode()):
        host.noop("the Admin password is up to date")
        return
    hashed = frontend_hash(password)
    # Dollar-quoted: a bcrypt hash holds '$' but never '$hash$'.
    sql = f"UPDATE users SET passwd = $hash${hashed}$hash$ WHERE username = 'Admin';\n"
    yield from with_secret_input("zabbix-admin-password.sql", sql, AS_ZABBIX_PSQL)
