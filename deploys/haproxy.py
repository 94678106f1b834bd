"""HAProxy (group `lb`): TLS on 8443 in front of the app hosts' instances.

Settings: `haproxy` (port, internal_port, public_services, stats_port, check_interval_ms,
ciphers, admin_port)
and the secret `haproxy_tls_pem` (certificate and key, one PEM). The backends come from the
inventory: one server per app host and instance port of each service that app host deploys
(its own `services`), so adding an app host or an instance needs no HAProxy edit. Routes:
`/<service>/...` to that service (prefix stripped), the rest to the frontend; clients use
TLS on `port` (only the services in `public_services` besides the frontend), the services
call each other on `internal_port` (docs/architecture.md: HAProxy). Until a service is
deployed its backend has no server and HAProxy answers 503. With a PostgreSQL cluster (two
db hosts), the services reach its primary through this host's port 5432 (`listen
postgresql`, checked against Patroni's REST API). A new configuration is checked
with `haproxy -c` before it replaces the live one; a change reloads (hitless). Only a changed
environment (the Redis check's login, a cluster's) restarts HAProxy.
"""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import server

from facts.snapshot import Read, file_entries, files_in
from infra.cluster import POSTGRES_PORT, REST_PORT
from infra.effects import reload_if_changed, run_if_changed
from infra.hostdata import address, cluster, members, secret, settings
from infra.operations import checked_file, ensure_directory, ensure_service
from infra.redis_ha import cluster_password
from infra.services import FRONTEND, deployed, route
from infra.settings import START_ORDER, Service
from infra.templating import put_rendered

CONFIG = "/etc/haproxy/haproxy.cfg"
CERTIFICATE = "/etc/haproxy/certs/aktienanalyse.pem"
REDIS_CHECK_ENV = "/etc/haproxy/aktienanalyse-redis-check.env"
DROP_IN_DIR = "/etc/systemd/system/haproxy.service.d"


def server_name(app_host: str, port: int) -> str:
    """The backend server's name: what an operator drains (`app-1-8005`)."""
    return f"{app_host}-{port}"


def backends(app_hosts: list[tuple[str, str, dict[str, Service]]]) -> dict:
    """{service: [(server name, address, port)]} from each app host's (name, address,
    services); every service's backend is there, without servers (503) until deployed."""
    result: dict[str, list] = {name: [] for name in START_ORDER}
    for app_host, app_address, services in app_hosts:
        for name, service in deployed(services):
            result.setdefault(name, []).extend(
                (server_name(app_host, port), app_address, port) for port in service.ports
            )
    return result


# Installed with every other deploy's by deploys/base.py, in one apt transaction.
PACKAGES = ["haproxy", "openssl", "socat"]  # socat: the admin socket


def facts(own) -> list[Read]:
    return [
        *files_in("/etc/haproxy", "/etc/haproxy/certs"),
        *file_entries(DROP_IN_DIR),
        *files_in(DROP_IN_DIR),
    ]


@deploy("HAProxy")
def apply() -> None:
    own = settings()
    h = own.haproxy
    app_hosts = [
        (app.name, "127.0.0.1" if app == host else address(app), settings(app).services)
        for app in members("app")
    ]
    remote_apps = [name for name, app_address, _ in app_hosts if app_address != "127.0.0.1"]
    ensure_directory(
        name="Directory /etc/haproxy/certs",
        path="/etc/haproxy/certs",
        user="root",
        group="root",
        mode=750,
    )
    certificate = checked_file(
        name=f"TLS certificate and key {CERTIFICATE}",
        dest=CERTIFICATE,
        content=own.secrets["haproxy_tls_pem"].get_secret_value() + "\n",
        check="openssl x509 -noout -in {path} && openssl pkey -noout -in {path}",
        user="root",
        group="haproxy",
        mode=640,
        sensitive=True,
    )
    config = put_rendered(
        CONFIG,
        {
            "port": h.port,
            "stats_port": h.stats_port,
            "check_interval_ms": h.check_interval_ms,
            "ciphers": h.ciphers,
            "admin_address": f"{address(host)}:{h.admin_port}" if remote_apps else None,
            "internal_port": h.internal_port,
            "internal_addresses": ["127.0.0.1", *([address(host)] if remote_apps else [])],
            "routes": {name: route(name) for name in START_ORDER if name != FRONTEND},
            "public_services": h.public_services,
            "certificate": CERTIFICATE,
            "backends": backends(app_hosts),
            "postgresql_servers": [(db.name, address(db)) for db in members("db")]
            if cluster().postgresql
            else [],
            "data_binds": [address(host), *(["127.0.0.1"] if "app" in host.groups else [])],
            "redis_servers": [(c.name, address(c)) for c in members("cache")]
            if cluster().redis
            else [],
            "postgresql_port": POSTGRES_PORT,
            "rest_port": REST_PORT,
        },
        name=f"HAProxy configuration {CONFIG} (checked by haproxy -c)",
        check="haproxy -c -f {path} >/dev/null",
        mode=644,
    )
    if cluster().redis:
        _redis_check_password()
    ensure_service(
        name="HAProxy running and enabled", service="haproxy", running=True, enabled=True
    )
    reload_if_changed(
        {"TLS certificate": certificate, "HAProxy configuration": config},
        name="Reload HAProxy (configuration or certificate changed)",
        service="haproxy",
    )


def _redis_check_password() -> None:
    """HAProxy's Redis login (ACL user haproxy), in its environment from a root-only file."""
    secret_value = cluster_password(secret("redis_replication_password"), "haproxy")
    env = checked_file(
        name=f"Redis check login {REDIS_CHECK_ENV}",
        dest=REDIS_CHECK_ENV,
        content=f"AKTIENANALYSE_REDIS_CHECK={secret_value.get_secret_value()}\n",
        mode=600,
        sensitive=True,
    )
    ensure_directory(name=DROP_IN_DIR, path=DROP_IN_DIR, user="root", group="root", mode=755)
    drop_in = put_rendered(
        f"{DROP_IN_DIR}/50-aktienanalyse.conf", {"env_file": REDIS_CHECK_ENV}, mode=644
    )
    run_if_changed(
        {"Redis check login": env, "HAProxy unit drop-in": drop_in},
        server.shell,
        effect="restart",
        name="Restart HAProxy (its environment changed)",
        commands=["systemctl daemon-reload", "systemctl restart haproxy"],
    )
