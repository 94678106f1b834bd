"""Unattended security upgrades (every host). Settings: `updates` (enabled, window).

unattended-upgrades takes packages from Debian's security
archive only, in the maintenance window (`apt-daily-upgrade.timer`, moved to `updates.window`),
and never reboots. Zabbix counts the security updates still pending (infra/zabbix_items.py).
"""

from __future__ import annotations

from pyinfra.api import deploy
from pyinfra.operations import systemd

from facts.snapshot import Read, files_in
from infra.effects import run_if_changed
from infra.hostdata import settings
from infra.operations import ensure_directory, ensure_service
from infra.settings import Settings
from infra.templating import put_rendered

TIMER_DROP_IN = "/etc/systemd/system/apt-daily-upgrade.timer.d/aktienanalyse.conf"


def packages(settings: Settings) -> list[str]:
    """The Debian packages this deploy needs (deploys/base.py installs every deploy's at once)."""
    return ["unattended-upgrades"] if settings.updates.enabled else []


def facts(own: Settings) -> list[Read]:
    return files_in("/etc/apt/apt.conf.d", "/etc/systemd/system", TIMER_DROP_IN.rsplit("/", 1)[0])


@deploy("Security updates")
def apply() -> None:
    updates = settings().updates
    put_rendered("/etc/apt/apt.conf.d/20auto-upgrades", {"enabled": updates.enabled}, mode=644)
    if not updates.enabled:
        return
    put_rendered("/etc/apt/apt.conf.d/52aktienanalyse-unattended-upgrades", {}, mode=644)
    ensure_directory(
        name="apt-daily-upgrade.timer.d",
        path=TIMER_DROP_IN.rsplit("/", 1)[0],
        user="root",
        group="root",
        mode=755,
    )
    window = put_rendered(TIMER_DROP_IN, {"window": updates.window}, mode=644)
    run_if_changed(
        {"maintenance window": window},
        systemd.daemon_reload,
        effect="reload",
        name="Reload systemd (upgrade window)",
    )
    ensure_service(
        name="apt-daily-upgrade.timer",
        service="apt-daily-upgrade.timer",
        running=True,
        enabled=True,
    )
