"""Application releases (group `app`): wheels, one venv per release, hardened units, health-gated
switch.

Settings: `services` (version, sha256, instances, port, memory_max, cpu_quota, environment),
`releases` (wheelhouse or index_url, keep, health_timeout), `platform`, `haproxy.admin_port`;
the environment file also carries where PostgreSQL (`postgresql.databases[0]`) and Redis are
and every service's URL through the lb (`haproxy.internal_port`); each service's own secrets
file its own database role and Redis user with their passwords (infra/credentials.py).

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

from pydantic import SecretStr
from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import server, systemd

from facts.once import read_once
from facts.releases import Releases
from facts.snapshot import Read, files_in
from facts.systemd import platform_instances, unit_state
from infra.credentials import database_role, redis_user, service_password
from infra.effects import run_if_changed
from infra.hostdata import address, cluster, members, remote_lb_admin, secret, settings, shared
from infra.operations import (
    ensure_absent,
    ensure_directory,
    ensure_file,
    ensure_service,
    ensure_user,
    install_release,
    mirrored_files,
    switch_release,
    unit_check,
)
from infra.services import (
    CORE,
    LOG_READERS,
    MIGRATION_UNIT,
    SWITCH,
    TARGET,
    UNIT_DIR,
    deployed,
    instance_units,
    migrates,
    requirements,
    route,
    secrets_file,
    service_user,
    switch_order,
    url_variable,
)
from infra.settings import START_ORDER, PostgreSQL, Redis, Service, Settings
from infra.templating import put_rendered

SERVICE_SECRETS = "/etc/aktienanalyse/service.secrets.env"  # the template
# How long a switch waits for an earlier switch of the same service (then it fails).
SWITCH_LOCK_TIMEOUT = 600


def environment(postgresql: PostgreSQL, db_host: str, redis_host: str) -> dict[str, str]:
    """The variables every unit gets from production.env (the wheel contract,
    docs/architecture.md): where the databases and Redis are. No credentials: each service's are
    in its own secrets file (`credentials`)."""
    return {
        "AKTIENANALYSE_DB_HOST": db_host,
        "AKTIENANALYSE_DB_PORT": "5432",
        "AKTIENANALYSE_DB_NAME": postgresql.databases[0],
        "AKTIENANALYSE_REDIS_HOST": redis_host,
        "AKTIENANALYSE_REDIS_PORT": "6379",
    }


def credentials(
    service: str, postgresql: PostgreSQL, redis: Redis, secrets: tuple[SecretStr, SecretStr]
) -> dict[str, str]:
    """`service`'s own database role and Redis user with their passwords (infra/credentials.py),
    derived from the secrets `postgresql_app_password` and `redis_app_password`: only for its
    own secrets file."""
    db_secret, redis_secret = secrets
    return {
        "AKTIENANALYSE_DB_USER": database_role(postgresql.app_role, service),
        "AKTIENANALYSE_DB_PASSWORD": service_password(
            db_secret, "postgresql", service
        ).get_secret_value(),
        "AKTIENANALYSE_REDIS_USER": redis_user(redis.app_user, service),
        "AKTIENANALYSE_REDIS_PASSWORD": service_password(
            redis_secret, "redis", service
        ).get_secret_value(),
    }


def service_urls(lb_address: str, internal_port: int) -> dict[str, str]:
    """AKTIENANALYSE_URL_<SERVICE>: where a service reaches each service (its own included)
    through HAProxy's internal entry, so every instance of the callee shares the load."""
    base = f"http://{lb_address}:{internal_port}"
    return {url_variable(name): base + route(name).rstrip("/") for name in START_ORDER}


def lb_admin_endpoints() -> list[str]:
    """Where this host reaches every HAProxy's admin socket (for draining its instances): each
    lb's address and its own `haproxy.admin_port`."""
    local = ["/run/haproxy/admin.sock"] if "lb" in host.groups else []
    return local + [f"{lb}:{port}" for lb, port in remote_lb_admin()]


def releases_arguments(settings: Settings) -> dict:
    """The Releases fact's arguments for this host's services (facts/snapshot.py reads it)."""
    services = [(name, list(service.ports)) for name, service in deployed(settings)]
    return {"base_dir": settings.platform.base_dir, "services": services}


def _address_of(group: str) -> str:
    """Where this host reaches the group's (first) host: loopback when it is that host."""
    hosts = members(group)
    if not hosts or host in hosts:
        return "127.0.0.1"
    return address(hosts[0])


# Installed with every other deploy's by deploys/base.py, in one apt transaction.
# socat: HAProxy's admin socket; psql and redis-cli: the runbook's checks (seed 003).
PACKAGES = ["python3-venv", "python3-pip", "socat", "postgresql-client-15", "redis-tools"]


def facts(own: Settings) -> list[Read]:
    p = own.platform
    return [
        (Releases, releases_arguments(own)),
        *files_in(*(f"{p.state_dir}/{name}" for name in own.services), f"{p.base_dir}/wheelhouse"),
        *files_in("/usr/local/sbin", "/etc/systemd/system"),
    ]


@deploy("Application")
def apply() -> None:
    own = settings()
    services = deployed(own)
    if not services:
        return
    if own.releases.wheelhouse:
        _upload_wheelhouse(own)
    _install_and_switch(own, services, migrates())


@deploy("Application: instances no longer wanted")
def stop_unwanted_instances() -> None:
    """Stop the running instances the settings do not want (fewer `instances`, a service
    without a version): after HAProxy has dropped them (deploys/all.py runs this after
    haproxy), so no request is sent to an instance that is stopping."""
    wanted = {
        unit for name, service in deployed(settings()) for unit in instance_units(name, service)
    }
    units = platform_instances()
    stray = sorted(
        unit
        for unit, state in units.items()
        if unit not in wanted and state in {"active", "activating", "reloading", "failed"}
    )
    if stray:
        failed = [unit for unit in stray if units[unit] == "failed"]
        commands = [f"systemctl reset-failed {shlex.join(failed)}"] if failed else []
        server.shell(
            name=f"Stop {', '.join(stray)} (no longer wanted)",
            commands=[*commands, f"systemctl stop {shlex.join(stray)}"],
        )


def _upload_wheelhouse(settings: Settings) -> None:
    mirrored_files(
        name="Wheelhouse (changed wheels only)",
        src=settings.releases.wheelhouse,
        dest=f"{settings.platform.base_dir}/wheelhouse",
        exclude=(".stamp",),
    )


def _install_and_switch(settings: Settings, services, migrates: bool) -> None:
    p = settings.platform
    master_secrets = (secret("postgresql_app_password"), secret("redis_app_password"))
    variables = environment(
        shared("postgresql"),
        _address_of("lb" if cluster().postgresql else "db"),  # HAProxy: the primary
        _address_of("lb" if cluster().redis else "cache"),  # HAProxy: the master
    ) | service_urls(_address_of("lb"), shared("haproxy").internal_port)
    env_file = put_rendered(
        f"{p.config_dir}/production.env",
        {"variables": variables},
        template="/etc/aktienanalyse/production.env",
        name=f"Environment {p.config_dir}/production.env",
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
            "lock_timeout": SWITCH_LOCK_TIMEOUT,
            "lb_admin": lb_admin_endpoints(),
            "server_prefix": host.name,
        },
        mode=755,
    )
    secret_files = {}
    for name, service in host.loop(services):
        user = service_user(p.user, name)
        ensure_user(
            name=f"Service user {user} (no login)",
            user=user,
            group=p.user,
            system=True,
            home=f"{p.state_dir}/{name}",
            shell="/usr/sbin/nologin",
            ensure_home=False,
        )
        ensure_directory(
            name=f"Directory {p.state_dir}/{name}",
            path=f"{p.state_dir}/{name}",
            user=user,
            group=p.user,
            mode=700,
        )
        secrets = {k: v.get_secret_value() for k, v in service.secrets.items()}
        secrets |= credentials(name, shared("postgresql"), shared("redis"), master_secrets)
        secret_files[name] = put_rendered(
            secrets_file(p.config_dir, name),
            {"service": name, "variables": secrets},
            template=SERVICE_SECRETS,
            name=f"Secrets of {name} {secrets_file(p.config_dir, name)}",
            user=user,
            group="root",
            mode=400,
            sensitive=True,
        )
    for name, service in services:
        for port in service.ports:
            # systemd would create it as root 0600: readable by no log reader, unrotatable.
            ensure_file(
                name=f"Log file {p.log_dir}/{name}-{port}.log",
                path=f"{p.log_dir}/{name}-{port}.log",
                user=p.user,
                group=LOG_READERS,
                mode=640,
            )
    unit_files = _units(settings, services, migrates)
    run_if_changed(
        {f"unit {name}": meta for name, meta in unit_files.items()},
        systemd.daemon_reload,
        effect="reload",
        name="Reload systemd (unit files changed)",
    )

    state = read_once(Releases, **releases_arguments(settings))
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
    # host.loop: each service's switch is the same operation on every host, switched or not.
    for name, service in host.loop(switch_order(services)):
        changed = {
            "environment file": env_file,
            f"secrets of {name}": secret_files[name],
            f"unit of {name}": unit_files[name],
        }
        _switch(name, service, state.get(name, {}), migrates and name == CORE, changed)
    ensure_service(name=f"{TARGET} enabled", service=TARGET, enabled=True)
    if unit_state(TARGET)["active"] != "active":
        server.shell(name=f"Start {TARGET}", commands=[f"systemctl start {TARGET}"])
    for name, service in host.loop(services):
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
                "run_as": service_user(p.user, name),
                "secrets_file": secrets_file(p.config_dir, name),
                "service": name,
                "version": service.version,
                "after": earlier,
                "environment": service.environment,
                "memory_max": service.memory_max,
                "cpu_quota": service.cpu_quota,
            },
            template=f"{UNIT_DIR}/aktienanalyse-service@.service",
            mode=644,
            check=unit_check(f"aktienanalyse-{name}@.service"),
        )
        earlier = earlier + instance_units(name, service)
    wanted = [unit for name, service in services for unit in instance_units(name, service)]
    if migrates:
        written["migration"] = put_rendered(
            f"{UNIT_DIR}/{MIGRATION_UNIT}",
            {
                "platform": p,
                "run_as": service_user(p.user, CORE),
                "secrets_file": secrets_file(p.config_dir, CORE),
                "before": wanted,
            },
            mode=644,
            check=unit_check(MIGRATION_UNIT),
        )
    else:
        written["migration"] = ensure_absent(
            name=f"No {MIGRATION_UNIT} (another app host migrates)",
            path=f"{UNIT_DIR}/{MIGRATION_UNIT}",
        )
    written["target"] = put_rendered(
        f"{UNIT_DIR}/{TARGET}",
        {"units": ([MIGRATION_UNIT] if migrates else []) + wanted},
        mode=644,
        check=unit_check(TARGET),
    )
    return written


def _switch(name: str, service: Service, state: dict, migrate: bool, changed: dict) -> None:
    """Switch when the link or any instance is not on the version; else only when its unit or
    the environment file changed (then a health-gated restart).

    Hosts that serve the service switch host by host, so the others keep serving; hosts where
    none of its instances runs yet (a new host, a new environment) serve nothing to lose and
    start it all at once, before those (so they add capacity while the others restart), and
    after the migrating host's switch (so no host runs a release before its migration)."""
    running = state.get("running", {})
    behind = state.get("current") != service.version or any(
        running.get(port) != service.version for port in service.ports
    )
    serving = bool(state.get("active"))
    arguments = {
        "service": name,
        "version": service.version,
        "ports": list(service.ports),
        "migrate": migrate,
        # for tools/apply.py's summary of a failed switch (the switch rolls back to `previous`)
        "details": {"service": name, "version": service.version, "previous": state.get("current")},
    }
    # pyinfra runs an operation's hosts in no fixed order, so the migrating host's core switch
    # is an operation of its own: it finishes on every host before the others' begin. An
    # operation is serial or not for all its hosts, hence one for each kind of host.
    if name == CORE and migrate:
        arguments["name"] = f"Migrate and switch {name} to {service.version}"
        run_if_changed(
            changed, switch_release, effect="switch", needed=behind, _serial=True, **arguments
        )
    elif not serving:
        arguments["name"] = f"Start {name} {service.version} (health-gated, not serving yet)"
        run_if_changed(changed, switch_release, effect="switch", needed=behind, **arguments)
    else:
        arguments["name"] = f"Switch {name} to {service.version} (health-gated)"
        run_if_changed(
            changed, switch_release, effect="switch", needed=behind, _serial=True, **arguments
        )


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
