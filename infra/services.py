"""The application's services on a host: which run, in which order, as which units.

Pure functions of the settings, shared by the deploys (app, haproxy, zabbix, rollback), the
tools and the tests. `migrates()` alone asks the inventory.
"""

from __future__ import annotations

from packaging.utils import parse_wheel_filename

from infra.settings import START_ORDER, Service, Settings
from infra.settings.services import DEFAULT_ROUTE, MIGRATING

CORE = MIGRATING  # runs the migrations; switched first
FRONTEND = DEFAULT_ROUTE  # HAProxy's default backend: what clients reach at /
SWITCH = "/usr/local/sbin/aktienanalyse-switch"
UNIT_DIR = "/etc/systemd/system"
MIGRATION_UNIT = "aktienanalyse-migration.service"
TARGET = "aktienanalyse.target"
# Reads the platform's logs (the Zabbix agent is in it); not Debian's adm, which reads every
# log on the host (auth.log's sudo command lines, PostgreSQL's).
LOG_READERS = "aktienanalyse-logs"


def deployed(services: dict[str, Service] | Settings) -> list[tuple[str, Service]]:
    """Services with a version, in the seeds' start order."""
    if isinstance(services, Settings):
        services = services.services
    return [(n, services[n]) for n in START_ORDER if services[n].version]


def service_user(platform_user: str, name: str) -> str:
    """The service's own system user (primary group: the platform's): no service can read
    another's secrets, its /proc/<pid>/environ included."""
    return f"{platform_user}-{name}"


def secrets_file(config_dir: str, name: str) -> str:
    """The service's own secrets (`services.<n>.secrets`): readable by root and its user."""
    return f"{config_dir}/{name}.secrets.env"


def route(name: str) -> str:
    """The path prefix under which HAProxy routes to a service: `/<service>/...`, prefix
    stripped; the frontend owns everything else (`/`)."""
    return "/" if name == FRONTEND else f"/{name}"


def url_variable(name: str) -> str:
    """The environment variable holding a service's URL through HAProxy (wheel contract)."""
    return "AKTIENANALYSE_URL_" + name.upper().replace("-", "_")


def switch_order(services: list[tuple[str, Service]]) -> list[tuple[str, Service]]:
    """Core first (its migrations change the schema the others use), then the start order."""
    return sorted(services, key=lambda item: item[0] != CORE)


def instance_units(name: str, service: Service) -> list[str]:
    return [f"aktienanalyse-{name}@{port}.service" for port in service.ports]


def requirements(name: str, service: Service) -> list[str]:
    """pip requirement lines: hash-pinned for every wheel when `sha256` is set."""
    if not service.sha256:
        return [f"aktienanalyse-{name}=={service.version}"]
    lines = []
    for wheel, digest in sorted(service.sha256.items()):
        project, version, _, _ = parse_wheel_filename(wheel)
        lines.append(f"{project}=={version} --hash=sha256:{digest}")
    return lines


def previous_release(live: list[str], installed: list[str], current: str | None) -> str | None:
    """The release that was live before `current` and is still installed (live: oldest first)."""
    for version in reversed(live):
        if version != current and version in installed:
            return version
    return None


def migrates(host=None) -> bool:
    """Only the first app host of the inventory runs migrations: once per release change."""
    from infra.hostdata import members

    if host is None:
        from pyinfra import host
    app_hosts = members("app")
    return bool(app_hosts) and app_hosts[0] == host
