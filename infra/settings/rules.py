"""Rules across sections: what no single section can check on its own.

Ports no two listeners may share, hash pins that must name the release's own wheels, one
source of wheels, distinct Redis users, secret values that fit where they go (read by
`resolve_secrets` first), unique operators. Each problem starts with the dotted key it is
about (a refusal names the file that set it); `check` refuses the first one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from infra.certificates import pem_problem
from infra.scram import saslprep_problem
from infra.settings.secrets import MIN_PASSWORD, PEM_SECRETS

if TYPE_CHECKING:
    from infra.settings import Settings

# Ports of the other listeners on a host, which no HAProxy or service port may take.
RESERVED_PORTS = {22: "SSH's", 5432: "PostgreSQL's", 6379: "Redis'", 10050: "the Zabbix agent's"}


def check(settings: Settings) -> None:
    """Raise ValueError with the first problem across sections, if there is one."""
    problem = next(problems(settings), None)
    if problem:
        raise ValueError(problem)


def problems(settings: Settings) -> Iterator[str]:
    yield from _ports_and_pins(settings)
    yield from _release_sources(settings)
    if settings.redis.app_user == settings.redis.admin_user:
        yield "redis.admin_user: must differ from redis.app_user"
    yield from _secret_values(settings)
    names = [op.name for op in settings.operators]
    if len(names) != len(set(names)):
        yield "operators: operator names must be unique"


def _ports_and_pins(settings: Settings) -> Iterator[str]:
    """HAProxy's ports and every instance's port, each taken once; hash pins that fit."""
    h = settings.haproxy
    taken = dict(RESERVED_PORTS)
    for key in ("port", "stats_port", "internal_port", "admin_port"):
        port = getattr(h, key)
        if port in taken:
            yield f"haproxy.{key}: port {port} is {taken[port]}"
        taken[port] = f"HAProxy's ({key})"
    for name, service in settings.services.items():
        if service.ports[-1] > 65535:
            yield f"services.{name}.instances: ports would pass 65535"
        for port in service.ports:
            if port in taken:
                yield f"services.{name}: port {port} is also {taken[port]}"
            taken[port] = f"{name}'s"
        problem = service.wheel_version_problem(name) if service.version else None
        if problem:
            yield f"services.{name}.sha256: {problem}"


def _release_sources(settings: Settings) -> Iterator[str]:
    """One source of wheels for the deployed services; plain http only with every hash."""
    releases, services = settings.releases, settings.services
    pinned = [name for name, service in services.items() if service.version]
    sources = [releases.wheelhouse, releases.index_url]
    if None not in sources:
        yield "releases: give either wheelhouse or index_url, not both"
    if pinned and sources == [None, None]:
        yield (
            f"services.{pinned[0]}.version: give releases.wheelhouse or releases.index_url "
            f"to deploy {', '.join(pinned)}"
        )
    unpinned = [name for name in pinned if not services[name].sha256]
    if releases.index_url and str(releases.index_url).startswith("http://") and unpinned:
        yield (
            f"services.{unpinned[0]}.sha256: releases.index_url is plain http, where anyone "
            "on the path could swap a wheel; pin every wheel (sha256) or use https"
        )


def _secret_values(settings: Settings) -> Iterator[str]:
    """Resolved secrets that fit where they go: certificates, passwords, ini values."""
    secrets = settings.secrets
    for name in PEM_SECRETS:
        pem = secrets.get(name)
        problem = pem and pem_problem(pem.get_secret_value(), settings.haproxy.certificate_min_days)
        if problem:
            yield f"secrets.{name}: {problem}"
    for name, secret in secrets.items():
        if name in PEM_SECRETS:
            continue
        if len(secret.get_secret_value()) < MIN_PASSWORD:
            yield f"secrets.{name}: shorter than {MIN_PASSWORD} characters"
        if any(c in secret.get_secret_value() for c in "\n\r"):  # a line of every file
            yield f"secrets.{name}: a password is one line; this one has more"
    cipher = secrets.get("pgbackrest_cipher_pass")
    if cipher and not re.fullmatch(r"[!-~]+", cipher.get_secret_value()):
        yield (
            "secrets.pgbackrest_cipher_pass: printable ASCII without spaces only (it is a "
            "value in pgBackRest's ini file)"
        )
    zabbix = secrets.get("zabbix_admin_password")
    if zabbix and len(zabbix.get_secret_value().encode()) > 72:
        yield (
            "secrets.zabbix_admin_password: longer than 72 bytes (bcrypt, the frontend's hash, "
            "ignores the rest)"
        )
    pg_password = secrets.get("postgresql_app_password")
    problem = pg_password and saslprep_problem(pg_password.get_secret_value())
    if problem:
        yield f"secrets.postgresql_app_password: {problem}"
