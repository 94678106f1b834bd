"""Every setting of the platform: its type, default and meaning, one module per section.

pyinfra loads the settings as host data: each section is one top-level name in
`group_data/all.py`, `group_data/<group>.py` or an inventory's host data, and pyinfra's
precedence decides which one a host sees (host data over group data over `all.py`; a
section is replaced whole, never merged). `Settings` validates what pyinfra loaded for a
host in three steps: every section's own checks (its module here), then the secrets the
host's groups need (`secrets.resolve_secrets`), then the rules across sections (`rules`).

Secrets are never written in group data, only referenced: `{"env": "NAME"}` or
`{"file": "/path"}`. A host resolves the ones its groups need (SECRET_OWNERS) into
`SecretStr`, which prints as `**********`.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from infra.settings.backup import BACKUP_ROOTS, DATA_DIRECTORIES, Backup
from infra.settings.haproxy import MIN_SECLEVEL, HAProxy
from infra.settings.jobs import DEFAULT_JOBS, JOB_NAME, PROGRAM, Job
from infra.settings.machine import Machine
from infra.settings.operators import KEY_TYPES, Operator
from infra.settings.platform import PATH_ROOTS, SYSTEM_DIRECTORIES, Platform, PlatformDir
from infra.settings.postgresql import (
    IDENTIFIER,
    PG_MANAGED,
    PG_OVERRIDABLE,
    PG_PARAMETER,
    PG_RESERVED,
    PostgreSQL,
)
from infra.settings.redis import ACL_PATTERN, ACL_RULE, APP_CATEGORIES, DANGEROUS, SAVE_POINT, Redis
from infra.settings.releases import Releases
from infra.settings.rules import check
from infra.settings.secrets import (
    CLUSTER_SECRETS,
    MIN_PASSWORD,
    PEM_SECRETS,
    SECRET_OWNERS,
    SecretName,
    SecretRef,
    platform_references,
    resolve_reference,
    resolve_secrets,
)
from infra.settings.services import (
    DEFAULT_SERVICES,
    PORT_STRIDE,
    SERVICES,
    SHA256,
    START_ORDER,
    Service,
    ServiceName,
    with_defaults,
)
from infra.settings.system import System
from infra.settings.types import (
    ENV_NAME,
    GROUPS,
    HOSTNAME,
    MAX_SIZE,
    MEMORY,
    MIN_SIZE,
    NOT_ASCII,
    REPO,
    SAFE_PATH,
    SYSTEM_ACCOUNTS,
    USERNAME,
    Calendar,
    Host,
    HostPort,
    HttpUrl,
    LoginName,
    ReleaseVersion,
    Strict,
    Text,
    check_size,
    size_bytes,
    unsafe_strings,
)
from infra.settings.updates import Updates
from infra.settings.zabbix import Zabbix

__all__ = [
    "ACL_PATTERN",
    "ACL_RULE",
    "APP_CATEGORIES",
    "BACKUP_ROOTS",
    "CLUSTER_SECRETS",
    "DANGEROUS",
    "DATA_DIRECTORIES",
    "DEFAULT_JOBS",
    "DEFAULT_SERVICES",
    "ENV_NAME",
    "GROUPS",
    "HOSTNAME",
    "IDENTIFIER",
    "JOB_NAME",
    "KEY_TYPES",
    "MAX_SIZE",
    "MEMORY",
    "MIN_PASSWORD",
    "MIN_SECLEVEL",
    "MIN_SIZE",
    "NOT_ASCII",
    "PATH_ROOTS",
    "PEM_SECRETS",
    "PG_MANAGED",
    "PG_OVERRIDABLE",
    "PG_PARAMETER",
    "PG_RESERVED",
    "PORT_STRIDE",
    "PROGRAM",
    "REPO",
    "SAFE_PATH",
    "SAVE_POINT",
    "SECRET_OWNERS",
    "SERVICES",
    "SHA256",
    "START_ORDER",
    "SYSTEM_ACCOUNTS",
    "SYSTEM_DIRECTORIES",
    "USERNAME",
    "Backup",
    "Calendar",
    "HAProxy",
    "Host",
    "HostPort",
    "HttpUrl",
    "Job",
    "LoginName",
    "Machine",
    "Operator",
    "Platform",
    "PlatformDir",
    "PostgreSQL",
    "Redis",
    "ReleaseVersion",
    "Releases",
    "SecretName",
    "SecretRef",
    "Service",
    "ServiceName",
    "Settings",
    "Strict",
    "System",
    "Text",
    "Updates",
    "Zabbix",
    "check_size",
    "resolve_reference",
    "size_bytes",
    "unsafe_strings",
]


class Settings(Strict):
    """A host's complete, validated settings (`infra.hostdata.settings()` in every deploy).

    Validation context "groups" (the host's groups) decides which secrets are resolved;
    without it, all are."""

    system: System = Field(default_factory=System, description="OS-level settings")
    platform: Platform = Field(default_factory=Platform, description="user and directory layout")
    operators: list[Operator] = Field(default=[], description="operator accounts")
    services: dict[ServiceName, Service] = Field(
        default_factory=lambda: dict(DEFAULT_SERVICES), description="the five services"
    )
    releases: Releases = Field(default_factory=Releases, description="where wheels come from")
    haproxy: HAProxy = Field(default_factory=HAProxy, description="group lb")
    zabbix: Zabbix = Field(default_factory=Zabbix, description="Zabbix agent 2, every host")
    postgresql: PostgreSQL = Field(default_factory=PostgreSQL, description="group db")
    redis: Redis = Field(default_factory=Redis, description="group cache")
    backup: Backup = Field(default_factory=Backup, description="PostgreSQL and Redis backups")
    jobs: dict[Annotated[str, Field(pattern=JOB_NAME.pattern)], Job] = Field(
        default_factory=lambda: dict(DEFAULT_JOBS),
        description="scheduled jobs (systemd timers) besides the backups",
    )
    updates: Updates = Field(default_factory=Updates, description="unattended security updates")
    machine: Machine = Field(
        default_factory=Machine, description="the container's limits (cluster members)"
    )
    secrets: dict[SecretName, SecretStr] = Field(
        default={}, description="secret references; a host resolves those its groups need"
    )

    @field_validator("services", mode="before")
    @classmethod
    def _merge_service_defaults(cls, value: Any) -> Any:
        return with_defaults(value)

    @field_validator("secrets", mode="before")
    @classmethod
    def _secret_references(cls, value: Any) -> Any:
        return platform_references(value)

    @model_validator(mode="after")
    def _resolved_and_checked(self, info: ValidationInfo) -> Settings:
        """Once every section is valid: the secrets read, then the rules across sections (a
        rule sees the secrets' values). The references give way to the values in place,
        before the settings leave validation."""
        self.__dict__.update(resolve_secrets(self, (info.context or {}).get("groups")))
        check(self)
        return self

    def to_json(self) -> dict[str, Any]:
        """For `pyinfra ... debug-inventory`; secrets print as '**********'."""
        return self.model_dump(mode="json")
