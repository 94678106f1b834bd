"""HAProxy (group `lb`): TLS on 8443 in front of the app hosts' instances.

Settings: `haproxy` (port, stats_port, check_interval_ms), the secret `haproxy_tls_pem`
(certificate and key, one PEM), and `services` (ports and instances). The backends come from
the inventory: one server per app host and instance port of each deployed service, so adding
an app host or an instance needs no HAProxy edit. A new configuration is checked with
`haproxy -c` before it replaces the live one; a change reloads (hitless), never restarts.
"""

from __future__ import annotations

from pyinfra import host, inventory
from pyinfra.api import deploy
from pyinfra.operations import files, systemd

from deploys.app import deployed
from deploys.operations import apt_install, checked_file, run_if_changed
from deploys.settings import Settings
from deploys.templating import render

CONFIG = "/etc/haproxy/haproxy.cfg"
CERTIFICATE = "/etc/haproxy/certs/aktienanalyse.pem"


def server_name(app_host: str, port: int) -> str:
    """The backend server's name: what an operator drains (`app-1-8005`)."""
    return f"{app_host}-{port}"


def backends(settings: Settings, app_hosts: list[tuple[str, str]]) -> dict:
    """{service: [(server name, address, port)]} for every deployed service."""
    return {
        name: [
            (server_name(app_host, port), address, port)
            for app_host, address in app_hosts
            for port in service.ports
        ]
        for name, service in deployed(settings)
    }


@deploy("HAProxy")
def apply() -> None:
    settings: Settings = host.data.settings
    h = settings.haproxy
    app_hosts = [
        (app.name, "127.0.0.1" if app == host else app.data.address)
        for app in inventory.get_group("app", default=[])
    ]
    remote_apps = [name for name, address in app_hosts if address != "127.0.0.1"]
    apt_install("HAProxy, openssl and socat (admin socket)", ["haproxy", "openssl", "socat"])
    files.directory(name="Directory /etc/haproxy/certs", path="/etc/haproxy/certs", mode=750)
    certificate = checked_file(
        name=f"TLS certificate and key {CERTIFICATE}",
        dest=CERTIFICATE,
        content=settings.secrets["haproxy_tls_pem"].get_secret_value() + "\n",
        check="openssl x509 -noout -in {path} && openssl pkey -noout -in {path}",
        user="root",
        group="haproxy",
        mode=640,
        sensitive=True,
    )
    config = checked_file(
        name=f"HAProxy configuration {CONFIG} (checked by haproxy -c)",
        dest=CONFIG,
        content=render(
            CONFIG,
            port=h.port,
            stats_port=h.stats_port,
            check_interval_ms=h.check_interval_ms,
            ciphers=h.ciphers,
            admin_address=f"{host.data.address}:{h.admin_port}" if remote_apps else None,
            certificate=CERTIFICATE,
            backends=backends(settings, app_hosts),
        ),
        check="haproxy -c -f {path} >/dev/null",
        mode=644,
    )
    systemd.service(
        name="HAProxy running and enabled", service="haproxy", running=True, enabled=True
    )
    run_if_changed(
        [certificate, config],
        systemd.service,
        name="Reload HAProxy (configuration or certificate changed)",
        service="haproxy",
        reloaded=True,
    )
