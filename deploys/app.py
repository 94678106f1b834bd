"""Application releases (group `app`): wheels, one venv per release, hardened units, health-gated
switch.

Settings: `services` (version, sha256, instances, port, memory_max, cpu_quota, environment),
`releases` (wheelhouse or index_url, keep, health_timeout), `platform`, `haproxy.admin_port`;
the environment file also carries `postgresql.app_role`/`databases[0]`, `redis.app_user` and
their two passwords.

A service is deployed when it has a `version`. Its wheels are uploaded from the wheelhouse
(only changed files) or downloaded from the index, installed offline into
releases/<service>/<version> (a new venv per release, marked complete last, never touched
again) and switched to by /usr/local/sbin/aktienanalyse-switch: atomic `current` link,
migrations (core, first app host only), then per instance: drained in every HAProxy, restarted,
required to answer /health, put back; rollback on failure. The switch runs as a transient
systemd unit, so a killed deploy cannot leave it half-way.
"""

from __future__ import annotations

import shlex
from urllib.parse import urlsplit

from packaging.utils import parse_wheel_filename
from pyinfra import host, inventory
from pyinfra.api import deploy, operation
from pyinfra.operations import files, server, systemd

from deploys.base import LOG_READERS
from deploys.operations import apt_install, checked_file, run_if_changed
from deploys.settings import START_ORDER, Service, Settings
from deploys.templating import put_rendered, render
from facts.releases import Releases
from facts.systemd import UnitActiveState

SWITCH = "/usr/local/sbin/aktienanalyse-switch"
UNIT_DIR = "/etc/systemd/system"
MIGRATION_UNIT = "aktienanalyse-migration.service"
TARGET = "aktienanalyse.target"
CORE = "intelligent-core"


def deployed(settings: Settings) -> list[tuple[str, Service]]:
    """Services with a version, in the seeds' start order."""
    return [(n, settings.services[n]) for n in START_ORDER if settings.services[n].version]


def switch_order(services: list[tuple[str, Service]]) -> list[tuple[str, Service]]:
    """Core first (its migrations change the schema the others use), then the start order."""
    return sorted(services, key=lambda item: item[0] != CORE)


def instance_units(name: str, service: Service) -> list[str]:
    return [f"aktienanalyse-{name}@{port}.service" for port in service.ports]


def runs_migrations() -> bool:
    """Only the first app host of the inventory runs migrations: once per release change."""
    app_hosts = inventory.get_group("app", default=[])
    return bool(app_hosts) and app_hosts[0] == host


def environment(settings: Settings, db_host: str, redis_host: str) -> dict[str, str]:
    """The variables every unit gets from production.env (the wheel contract, README).

    Holds the two app passwords in clear: only for the sensitive environment file."""
    return {
        "AKTIENANALYSE_DB_HOST": db_host,
        "AKTIENANALYSE_DB_PORT": "5432",
        "AKTIENANALYSE_DB_NAME": settings.postgresql.databases[0],
        "AKTIENANALYSE_DB_USER": settings.postgresql.app_role,
        "AKTIENANALYSE_DB_PASSWORD": settings.secrets["postgresql_app_password"].get_secret_value(),
        "AKTIENANALYSE_REDIS_HOST": redis_host,
        "AKTIENANALYSE_REDIS_PORT": "6379",
        "AKTIENANALYSE_REDIS_USER": settings.redis.app_user,
        "AKTIENANALYSE_REDIS_PASSWORD": settings.secrets["redis_app_password"].get_secret_value(),
    }


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


def lb_admin_endpoints(admin_port: int) -> list[str]:
    """Where this host reaches every HAProxy's admin socket (for draining its instances)."""
    return [
        "/run/haproxy/admin.sock" if lb == host else f"{lb.data.address}:{admin_port}"
        for lb in inventory.get_group("lb", default=[])
    ]


def _address_of(group: str) -> str:
    """Where this host reaches the group's (first) host: loopback when it is that host."""
    members = inventory.get_group(group, default=[])
    if not members or host in members:
        return "127.0.0.1"
    return members[0].data.address


@deploy("Application")
def apply() -> None:
    settings: Settings = host.data.settings
    services = deployed(settings)
    apt_install("Python venv, socat (HAProxy admin socket)", ["python3-venv", "socat"])
    if not services:
        return
    migrates = runs_migrations()

    if settings.releases.wheelhouse:
        _upload_wheelhouse(settings)
    _install_and_switch(settings, services, migrates)


def _upload_wheelhouse(settings: Settings) -> None:
    files.sync(
        name="Wheelhouse (changed wheels only)",
        src=settings.releases.wheelhouse,
        dest=f"{settings.platform.base_dir}/wheelhouse",
        mode="644",
        dir_mode="755",
        delete=True,
        exclude=[".stamp"],
    )


def _install_and_switch(settings: Settings, services, migrates: bool) -> None:
    p = settings.platform
    variables = environment(settings, _address_of("db"), _address_of("cache"))
    env_file = checked_file(
        name=f"Environment {p.config_dir}/production.env (secrets)",
        dest=f"{p.config_dir}/production.env",
        content=render("/etc/aktienanalyse/production.env", variables=variables),
        user="root",
        group=p.user,
        mode=640,
        sensitive=True,
    )
    put_rendered(
        SWITCH,
        {
            "base_dir": p.base_dir,
            "timeout": settings.releases.health_timeout,
            "lb_admin": lb_admin_endpoints(settings.haproxy.admin_port),
            "server_prefix": host.name,
        },
        mode=755,
    )
    for name, service in services:
        for port in service.ports:
            # systemd would create it as root 0600: readable by no log reader, unrotatable.
            files.file(
                name=f"Log file {p.log_dir}/{name}-{port}.log",
                path=f"{p.log_dir}/{name}-{port}.log",
                user=p.user,
                group=LOG_READERS,
                mode=640,
            )
    unit_files = _units(settings, services, migrates)
    run_if_changed(
        list(unit_files.values()),
        systemd.daemon_reload,
        name="Reload systemd (unit files changed)",
    )

    state = host.get_fact(
        Releases,
        base_dir=p.base_dir,
        services=[(name, list(service.ports)) for name, service in services],
    )
    for name, service in services:
        install_release(
            name=f"Install {name} {service.version}",
            base_dir=p.base_dir,
            service=name,
            version=service.version,
            requirements=requirements(name, service),
            installed=state.get(name, {}).get("installed", []),
            index_url=str(settings.releases.index_url) if settings.releases.index_url else None,
        )
    for name, service in switch_order(services):
        _switch(name, service, state.get(name, {}), migrates and name == CORE,
                changed=[env_file, unit_files[name]])  # fmt: skip
    systemd.service(name=f"{TARGET} enabled", service=TARGET, running=None, enabled=True)
    if host.get_fact(UnitActiveState, unit=TARGET) != "active":
        server.shell(name=f"Start {TARGET}", commands=[f"systemctl start {TARGET}"])
    for name, service in services:
        _prune(name, service, state.get(name, {}), settings.releases.keep, p.base_dir)


def _units(settings: Settings, services, migrates: bool) -> dict:
    p = settings.platform
    written = {}
    earlier: list[str] = []
    for name, service in services:
        written[name] = put_rendered(
            f"{UNIT_DIR}/aktienanalyse-{name}@.service",
            {
                "platform": p,
                "service": name,
                "version": service.version,
                "after": earlier,
                "environment": service.environment,
                "memory_max": service.memory_max,
                "cpu_quota": service.cpu_quota,
            },
            template=f"{UNIT_DIR}/aktienanalyse-service@.service",
            mode=644,
        )
        earlier = earlier + instance_units(name, service)
    wanted = [unit for name, service in services for unit in instance_units(name, service)]
    if migrates:
        written["migration"] = put_rendered(
            f"{UNIT_DIR}/{MIGRATION_UNIT}", {"platform": p, "before": wanted}, mode=644
        )
    else:
        written["migration"] = files.file(
            name=f"No {MIGRATION_UNIT} (another app host migrates)",
            path=f"{UNIT_DIR}/{MIGRATION_UNIT}",
            present=False,
        )
    written["target"] = put_rendered(
        f"{UNIT_DIR}/{TARGET}",
        {"units": ([MIGRATION_UNIT] if migrates else []) + wanted},
        mode=644,
    )
    return written


def _switch(name: str, service: Service, state: dict, migrate: bool, changed: list) -> None:
    """Switch when the link or any instance is not on the version; else only when its unit or
    the environment file changed (then a health-gated restart)."""
    running = state.get("running", {})
    behind = state.get("current") != service.version or any(
        running.get(port) != service.version for port in service.ports
    )
    arguments = {
        "service": name,
        "version": service.version,
        "ports": list(service.ports),
        "migrate": migrate,
        "_serial": True,  # host by host: never all app hosts at once
    }
    # pyinfra runs an operation's hosts in no fixed order, so the migrating host's core switch
    # is an operation of its own: it finishes on every host before the others' begins.
    # pyinfra identifies an operation by its call site (in a loop: and how often it was
    # reached), so core has its own call sites and every host reaches the last one for the
    # same services in the same order.
    if name == CORE and migrate:
        arguments["name"] = f"Migrate and switch {name} to {service.version}"
        run_if_changed(changed, switch_release, needed=behind, **arguments)
    elif name == CORE:
        arguments["name"] = f"Switch {name} to {service.version} (health-gated)"
        run_if_changed(changed, switch_release, needed=behind, **arguments)
    else:
        arguments["name"] = f"Switch {name} to {service.version} (health-gated)"
        run_if_changed(changed, switch_release, needed=behind, **arguments)


def _prune(name: str, service: Service, state: dict, keep: int, base_dir: str) -> None:
    installed = [v for v in state.get("installed", []) if v != service.version]
    installed.append(service.version)  # newest last
    protected = {service.version, state.get("current")}
    old = [v for v in installed[:-keep] if v not in protected]
    if old:
        paths = " ".join(shlex.quote(f"{base_dir}/releases/{name}/{v}") for v in old)
        server.shell(
            name=f"Prune {name} releases {', '.join(old)} (keep {keep})",
            commands=[f"rm -rf {paths}"],
        )


@operation()
def install_release(
    base_dir: str,
    service: str,
    version: str,
    requirements: list[str],
    installed: list[str],
    index_url: str | None = None,
):
    """
    Install a release into a new venv, offline from the host's wheelhouse.

    + base_dir: the platform's base directory
    + service, version: what to install
    + requirements: pip requirement lines (with --hash when pinned)
    + installed: versions already complete on the host (from the Releases fact)
    + index_url: download the wheels from this package index into the wheelhouse first

    A directory without the `.complete` marker is a leftover of an interrupted install and is
    rebuilt; a complete one is never modified.
    """
    if version in installed:
        host.noop(f"{service} {version} is installed")
        return
    target = f"{base_dir}/releases/{service}/{version}"
    wheelhouse = f"{base_dir}/wheelhouse"
    lines = " ".join(shlex.quote(line) for line in requirements)
    hashed = any("--hash=" in line for line in requirements)
    wanted = f"--require-hashes -r {target}/requirements.txt" if hashed else lines
    yield f"rm -rf {target} && mkdir -p {base_dir}/releases/{service}"
    yield f"python3 -m venv {target}"
    if hashed:
        yield f"printf '%s\\n' {lines} > {target}/requirements.txt"
    if index_url:
        index = f"--index-url {shlex.quote(index_url)}"
        if index_url.startswith("http://"):  # pip refuses plain HTTP unless told (lab index)
            index += f" --trusted-host {urlsplit(index_url).hostname}"
        yield f"{target}/bin/pip download -q -d {wheelhouse} {index} {wanted}"
    yield f"{target}/bin/pip install -q --no-index --find-links {wheelhouse} {wanted}"
    yield f"touch {target}/.complete"


@operation()
def switch_release(service: str, version: str, ports: list[int], migrate: bool):
    """
    Run aktienanalyse-switch for one service as a transient systemd unit and wait for it.

    + service, version: the release to make live
    + ports: its instances, restarted in this order
    + migrate: run aktienanalyse-migration.service first (core, on the migrating host)

    The unit outlives a killed deploy, so the switch always finishes or rolls back. Its
    output (the reason, when it failed) is printed from the journal.
    """
    unit = f"aktienanalyse-switch-{service}"
    args = " ".join([service, version, "yes" if migrate else "no", *map(str, ports)])
    yield (
        f"unit={unit}-$(date +%s%N); "
        f"systemd-run --quiet --wait --collect --unit=$unit {SWITCH} {args}; rc=$?; "
        "journalctl --sync; journalctl -q -o cat -u $unit; exit $rc"
    )
