"""`services`: the platform's five services, each one's release, instances and limits.

CATALOGUE declares each service once: its name, first port, default instances and limits,
and its place in the start order. SERVICES, START_ORDER, ServiceName, PublicService and
DEFAULT_SERVICES are derived from it. Group data sets only what differs from the defaults.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from pydantic import Field, SecretStr, field_validator, model_validator

from infra.settings.secrets import service_references
from infra.settings.types import ReleaseVersion, Size, Strict, Text, check_env_name

PORT_STRIDE = 10  # between a service's instance ports: room for ten services' base ports
SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Spec:
    """A service as the seeds define it; its defaults become `services.<name>`."""

    name: str
    port: int  # the first instance's port (seed 003)
    memory_max: str  # systemd MemoryMax (seed 000 §1.2)
    cpu_quota: int  # systemd CPUQuota in percent (seed 000 §1.2)
    instances: int = 1
    default_route: bool = False  # HAProxy's default backend: no /<name>/ route, always public
    migrates: bool = False  # runs the database migrations (the oneshot) and is switched first


# In start order (seed 000 §4.1): after the migration, event-bus, core, broker, monitoring,
# frontend. Core, event-bus and frontend run at least 2 instances (seed 001: "always at
# least 2 for high availability"), broker-gateway and monitoring one.
CATALOGUE = (
    Spec("event-bus", port=8003, memory_max="1G", cpu_quota=200, instances=2),
    Spec("intelligent-core", port=8001, memory_max="1G", cpu_quota=200, instances=2, migrates=True),
    Spec("broker-gateway", port=8002, memory_max="512M", cpu_quota=150),
    Spec("monitoring", port=8004, memory_max="512M", cpu_quota=100),
    Spec("frontend", port=8005, memory_max="512M", cpu_quota=100, instances=2, default_route=True),
)
START_ORDER = tuple(spec.name for spec in CATALOGUE)
MIGRATING = next(spec.name for spec in CATALOGUE if spec.migrates)
DEFAULT_ROUTE = next(spec.name for spec in CATALOGUE if spec.default_route)
BY_PORT = tuple(sorted(CATALOGUE, key=lambda spec: spec.port))  # the seeds' order
SERVICES = tuple(spec.name for spec in BY_PORT)
ServiceName = Literal[SERVICES]
# The services HAProxy routes by their /<service>/ prefix (haproxy.public_services).
PREFIXED = tuple(spec.name for spec in BY_PORT if not spec.default_route)
PublicService = Literal[PREFIXED]


class Service(Strict):
    port: int = Field(ge=1024, le=65535, description="first instance's port (the seeds')")
    instances: int = Field(
        1,
        ge=1,
        le=16,
        description=f"instances; instance n (from 0) listens on port + {PORT_STRIDE}·n",
    )
    memory_max: Size = Field(description="systemd MemoryMax, e.g. 512M or 1G")
    cpu_quota: int = Field(ge=1, le=6400, description="systemd CPUQuota in percent")
    environment: dict[str, Text] = Field(
        default={},
        description="extra environment variables (plain text, in the unit file: no secrets)",
    )
    version: ReleaseVersion | None = Field(
        None, description="release to run (wheel version); none: the service is not deployed"
    )
    sha256: dict[str, str] = Field(
        default={},
        description="wheel file name -> sha256 for every wheel of the release; "
        "when set, pip installs with --require-hashes",
    )
    secrets: dict[str, SecretStr] = Field(
        default={},
        description="secret environment variables of this service alone, as references "
        '(`{"env": ...}` or `{"file": ...}`); delivered in a file only root and the service\'s '
        "own user can read; resolved only on app hosts and once the service has a version",
    )

    @field_validator("sha256")
    @classmethod
    def _wheel_digests(cls, value: dict[str, str]) -> dict[str, str]:
        for wheel, digest in value.items():
            try:
                parse_wheel_filename(wheel)
            except InvalidWheelFilename:
                raise ValueError("a key is not a wheel file name") from None
            if not SHA256.fullmatch(digest):
                raise ValueError("a value is not a hex sha256")
        return value

    @field_validator("secrets", mode="before")
    @classmethod
    def _secret_references(cls, value: Any) -> Any:
        """References, checked for shape only (infra/settings/secrets.py resolves them)."""
        return service_references(value)

    @field_validator("environment")
    @classmethod
    def _environment(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            check_env_name(name)
        return value

    @model_validator(mode="after")
    def _secrets_apart_from_environment(self) -> Service:
        both = sorted(set(self.secrets) & set(self.environment))
        if both:
            raise ValueError(f"{both[0]} is both in environment and in secrets")
        return self

    def wheel_version_problem(self, name: str) -> str | None:
        """Why the hash pins cannot be this release's wheels (another version, or not the
        service's own wheel at all)."""
        own = canonicalize_name(f"aktienanalyse-{name}")
        if self.sha256 and not any(parse_wheel_filename(w)[0] == own for w in self.sha256):
            return "the hash pins name no wheel of the service itself"
        for wheel in self.sha256:
            project, version, _, _ = parse_wheel_filename(wheel)
            if project == own and str(version) != self.version:
                return "a hash pin names another version of the service's wheel"
        return None

    @property
    def ports(self) -> range:
        """The instances' ports: the first is the seeds' (8001..8005), the others follow in
        steps of PORT_STRIDE, so every service can have up to 16 and the last digit still
        names the service (core 8001, 8011, 8021; broker 8002, 8012; ...)."""
        return range(self.port, self.port + PORT_STRIDE * self.instances, PORT_STRIDE)


DEFAULT_SERVICES: dict[str, Service] = {
    spec.name: Service(
        port=spec.port,
        instances=spec.instances,
        memory_max=spec.memory_max,
        cpu_quota=spec.cpu_quota,
    )
    for spec in BY_PORT
}


def with_defaults(value: Any) -> Any:
    """`services` as group data gives it, over the catalogue's defaults: group data sets only
    what differs for a service."""
    if not isinstance(value, Mapping):
        return value
    merged = {}
    for name, overrides in value.items():
        default = DEFAULT_SERVICES.get(name)
        if default is not None and isinstance(overrides, Mapping):
            merged[name] = {**default.model_dump(), **overrides}
        else:
            merged[name] = overrides
    return {**{k: v.model_dump() for k, v in DEFAULT_SERVICES.items()}, **merged}
