"""`system`: what every host gets from the operating system (time zone, apt, packages)."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from infra.settings.types import HttpUrl, Strict, Text


class System(Strict):
    timezone: Text = Field("Europe/Berlin", description="host time zone (trading hours)")
    apt_proxy: HttpUrl | None = Field(
        None, description="HTTP proxy for apt, e.g. an apt-cacher-ng; none when unset"
    )
    packages: list[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.+-]+$")]] = Field(
        default=["sudo", "tzdata", "ca-certificates", "curl", "procps", "less", "openssl"],
        description="Debian packages every host gets",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone") from None
        return value
