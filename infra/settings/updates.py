"""`updates`: unattended security upgrades on every host."""

from __future__ import annotations

from pydantic import Field

from infra.settings.types import Calendar, Strict


class Updates(Strict):
    """Unattended security upgrades, every host."""

    enabled: bool = Field(True, description="install security updates unattended")
    window: Calendar = Field(
        "*-*-* 04:00", description="when upgrades run (apt-daily-upgrade.timer)"
    )
