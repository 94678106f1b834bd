"""Secrets: the platform's own (`secrets`) and each service's (`services.<n>.secrets`).

Settings never hold a secret's value, only a reference to it: `{"env": "NAME"}` (an
environment variable of the machine running pyinfra) or `{"file": "/path"}` (a file there,
the runner's own, mode 0600 or 0400). Validation checks a reference's shape and keeps it as
a `Reference`; `resolve_secrets` then reads the values a host needs, in this one place, after
every section is valid. A resolved secret is a `SecretStr`, which prints as `**********`.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails

from infra.settings.types import Strict, Text, check_env_name

if TYPE_CHECKING:
    from infra.settings import Settings

MIN_PASSWORD = 16  # the passwords reach network services (PostgreSQL, Redis)
SecretName = Literal[
    "postgresql_app_password",
    "postgresql_superuser_password",
    "postgresql_replication_password",
    "pgbackrest_cipher_pass",
    "redis_app_password",
    "redis_admin_password",
    "redis_replication_password",
    "haproxy_tls_pem",
    "zabbix_admin_password",
    "zabbix_tls_pem",
]
# Needed only where their cluster exists (infra/cluster.py), not on every host of the group.
CLUSTER_SECRETS = (
    "postgresql_superuser_password",
    "postgresql_replication_password",
    "redis_replication_password",
)
PEM_SECRETS = ("haproxy_tls_pem", "zabbix_tls_pem")  # certificate and key, checked as such
# The group whose hosts use (and so need) each secret; others read it from them.
SECRET_OWNERS = {
    "postgresql_app_password": "db",
    # A PostgreSQL cluster's (two or more db hosts, Patroni): pg_rewind's and Patroni's
    # superuser login, and the standbys' replication login (infra/cluster.py requires them).
    "postgresql_superuser_password": "db",
    "postgresql_replication_password": "db",
    "pgbackrest_cipher_pass": "db",
    "redis_app_password": "cache",
    "redis_admin_password": "cache",
    # A Redis cluster's (two or more cache hosts): the replicas' login to their master, from
    # which Sentinel's and HAProxy's logins are derived too.
    "redis_replication_password": "cache",
    "haproxy_tls_pem": "lb",
    "zabbix_admin_password": "monitoring",
    "zabbix_tls_pem": "monitoring",  # the frontend's and API's HTTPS certificate and key
}


class SecretRef(Strict):
    """Where a secret comes from: an environment variable or a file (its content, stripped)."""

    env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = Field(
        None, description="environment variable holding the secret"
    )
    file: Text | None = Field(None, description="path of a file holding the secret")

    @field_validator("file")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        """A relative `file` is most likely the secret itself pasted in: never repeat it."""
        if value is not None and not value.startswith("/"):
            raise ValueError("file must be an absolute path")
        return value

    @model_validator(mode="after")
    def _exactly_one_source(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of 'env' or 'file'")
        return self

    def resolve(self) -> SecretStr:
        """The secret, surrounding whitespace stripped. A file must be the runner's own and
        readable by nobody else; an empty or whitespace-only secret is refused."""
        if self.env is not None:
            value = os.environ.get(self.env, "").strip()
            if not value:
                raise ValueError(f"environment variable {self.env} is not set or empty")
        else:
            path = Path(self.file)
            if not path.is_file():
                raise ValueError(f"secret file {path} does not exist")
            info = path.stat()
            if info.st_uid != os.getuid() or info.st_mode & 0o077:
                raise ValueError(
                    f"secret file {path} has mode {info.st_mode & 0o777:04o} and owner uid "
                    f"{info.st_uid}: it must be yours with mode 0600 or 0400"
                )
            try:
                value = path.read_text().strip()
            except UnicodeDecodeError:
                raise ValueError(f"secret file {path} is not UTF-8 text") from None
            if not value:
                raise ValueError(f"secret file {path} is empty")
        if any(ord(c) < 32 and c not in "\n\r" for c in value):
            raise ValueError(f"{self.env or self.file}: the secret contains a control character")
        return SecretStr(value)


class Reference(SecretStr):
    """A secret as validation leaves it: where it comes from (`ref`); its value is empty
    until `resolve_secrets` reads it."""

    def __init__(self, ref: SecretRef) -> None:
        super().__init__("")
        self.ref = ref


# ---------------------------------------------------------------------------------------------
# Validation: names and the shape of each reference, nothing read.


def reference(name: str, ref: Any) -> Reference:
    """`ref` checked as a reference. Errors name `name`, never a value."""
    try:
        return Reference(SecretRef.model_validate(ref))
    except ValidationError as exc:
        reasons = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
        raise ValueError(f"{name}: {reasons}") from None


def platform_references(value: Any) -> Any:
    """`secrets` checked before its type: known names, references of the right shape."""
    if not isinstance(value, Mapping):
        return value
    checked = {}
    for name, ref in value.items():
        if name not in SECRET_OWNERS:
            raise ValueError(f"unknown secret (known: {', '.join(SECRET_OWNERS)})")
        checked[name] = reference(name, ref)
    return checked


def service_references(value: Any) -> Any:
    """`services.<n>.secrets` checked before its type: each name an environment variable of
    the service's own, each value a reference of the right shape."""
    if not isinstance(value, Mapping):
        return value
    checked = {}
    for name, ref in value.items():
        if isinstance(ref, SecretStr):  # already resolved (a model_dump merged again)
            checked[name] = ref
            continue
        check_env_name(name)
        checked[name] = reference(name, ref)
    return checked


def resolve_reference(name: str, ref: Any, needed: bool) -> SecretStr | None:
    """Check a reference's shape; resolve it when `needed`. Errors name `name`, never a value."""
    checked = reference(name, ref)
    return _read(name, checked) if needed else None


# ---------------------------------------------------------------------------------------------
# Resolution: after validation, the values a host needs.


def _read(name: str, secret: SecretStr) -> SecretStr:
    if not isinstance(secret, Reference):
        return secret
    try:
        return secret.ref.resolve()
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def _service_secret(name: str, secret: SecretStr) -> SecretStr:
    if not isinstance(secret, Reference):
        return secret
    value = _read(name, secret)
    if any(c in value.get_secret_value() for c in "\n\r"):
        raise ValueError(f"{name}: a service secret is one line; this one has more")
    return value


def _unread(secret: SecretStr) -> SecretStr:
    return SecretStr("") if isinstance(secret, Reference) else secret


def _error(loc: tuple[str, ...], exc: ValueError, secrets: Mapping[str, Any]) -> InitErrorDetails:
    """A failed field as pydantic reports it; its input is the secrets' names, no value."""
    return {"type": "value_error", "loc": loc, "input": sorted(secrets), "ctx": {"error": exc}}


def resolve_secrets(settings: Settings, groups: Collection[str] | None) -> dict[str, Any]:
    """The secrets a host in `groups` needs, read (None: every secret): new values of the
    fields `secrets` and `services` of `settings`.

    A platform secret is read on the hosts of the group that owns it (SECRET_OWNERS) and left
    out elsewhere. A service's secrets are read on app hosts once the service has a version;
    elsewhere they keep their names with an empty value (no deploy reads another host's
    service secrets). A secret that cannot be read fails its field (the first such secret of
    each field), as a ValidationError naming the secret, never its value.
    """
    app_host = groups is None or "app" in groups
    errors: list[InitErrorDetails] = []
    services = {}
    for name, service in settings.services.items():
        deployed = service.version is not None and app_host
        read = _service_secret if deployed else lambda _, secret: _unread(secret)
        try:
            own = {key: read(key, secret) for key, secret in service.secrets.items()}
        except ValueError as exc:
            errors.append(_error(("services", name, "secrets"), exc, service.secrets))
            own = {}
        services[name] = service.model_copy(update={"secrets": own}) if own else service
    needed = {
        name: secret
        for name, secret in settings.secrets.items()
        if groups is None or SECRET_OWNERS[name] in groups
    }
    try:
        secrets = {name: _read(name, secret) for name, secret in needed.items()}
    except ValueError as exc:
        errors.append(_error(("secrets",), exc, needed))
        secrets = {}
    if errors:
        raise ValidationError.from_exception_data(type(settings).__name__, errors)
    return {"services": services, "secrets": secrets}
