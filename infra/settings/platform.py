"""`platform`: the system user that owns the platform and the platform's four directories."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, field_validator, model_validator

from infra.settings.services import SERVICES
from infra.settings.types import LoginName, Strict, check_safe_path, words

# Where the platform's directories may live, and names there that belong to the system.
PATH_ROOTS = ("/opt/", "/srv/", "/etc/", "/var/lib/", "/var/log/")
SYSTEM_DIRECTORIES = words(
    "ssh systemd apt default postgresql redis haproxy zabbix sudoers.d security pam.d cron.d",
    "logrotate.d network dpkg lxc nftables.conf journal private",
)


def _platform_dir(value: str) -> str:
    value = check_safe_path(value)
    root = next((r for r in PATH_ROOTS if value.startswith(r)), None)
    if root is None:
        raise ValueError(f"must be below one of {', '.join(PATH_ROOTS)}")
    own = value[len(root) :].split("/")[0]
    if own in SYSTEM_DIRECTORIES or not own.startswith("aktienanalyse"):
        raise ValueError(
            f"must be the platform's own directory, e.g. {root}aktienanalyse (its name "
            "below the root starts with 'aktienanalyse')"
        )
    return value


PlatformDir = Annotated[str, AfterValidator(_platform_dir)]


class Platform(Strict):
    user: LoginName = Field(
        "aktienanalyse",
        description="system user and group owning the platform; each service runs as "
        "<user>-<service> in this group",
    )
    base_dir: PlatformDir = Field(
        "/opt/aktienanalyse", description="releases, current links, wheelhouse"
    )
    config_dir: PlatformDir = Field(
        "/etc/aktienanalyse", description="service config and secrets file"
    )
    log_dir: PlatformDir = Field("/var/log/aktienanalyse", description="the platform's log files")
    state_dir: PlatformDir = Field(
        "/var/lib/aktienanalyse", description="the services' writable data"
    )

    @field_validator("user")
    @classmethod
    def _room_for_service_users(cls, value: str) -> str:
        longest = max(len(name) for name in SERVICES)
        if len(value) + 1 + longest > 32:  # each service runs as <user>-<service>
            raise ValueError(
                f"at most {31 - longest} characters (service users are <user>-<service>, "
                "at most 32)"
            )
        return value

    @model_validator(mode="after")
    def _distinct(self) -> Platform:
        dirs = [self.base_dir, self.config_dir, self.log_dir, self.state_dir]
        for a in dirs:
            if any(b != a and (b + "/").startswith(a + "/") for b in dirs):
                raise ValueError("platform: the four directories must not contain each other")
        return self
