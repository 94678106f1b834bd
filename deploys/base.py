"""Base host: apt proxy, packages, time zone, the platform's user and directories, operators.

Runs on every host. Settings: `system` (timezone, apt_proxy, packages), `platform` (user and
directories), `operators` (accounts, SSH keys, sudo). See docs/settings.md.
"""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.server import Timezone
from pyinfra.operations import server

from facts.accounts import Accounts, user_matches
from facts.once import read_once
from facts.packages import InstalledPackages
from facts.snapshot import Read, file_entries, files_in
from facts.systemd import UNIT_FILES, Units
from infra.effects import reload_if_changed
from infra.hostdata import settings
from infra.operations import (
    checked_file,
    debian_packages,
    ensure_absent,
    ensure_directory,
    ensure_group,
    ensure_user,
)
from infra.services import LOG_READERS
from infra.settings import Settings
from infra.templating import put_rendered

PACKAGES: list[str] = []  # its own; apply() installs every deploy's (deploys/all.py)
APT_PROXY_FILE = "/etc/apt/apt.conf.d/01aktienanalyse-proxy"
SUDOERS_FILE = "/etc/sudoers.d/aktienanalyse-operators"
SSHD_DROP_IN = "/etc/ssh/sshd_config.d/50-aktienanalyse.conf"
OPERATORS_GROUP = "operators"


def directory_layout(settings: Settings) -> list[tuple[str, str, str, int]]:
    """(path, owner, group, mode) of every platform directory, parents first."""
    p, user = settings.platform, settings.platform.user
    return [
        (p.base_dir, "root", "root", 755),
        (f"{p.base_dir}/releases", "root", "root", 755),  # venvs: read-only to the services
        (f"{p.base_dir}/current", "root", "root", 755),
        (f"{p.base_dir}/wheelhouse", "root", "root", 755),
        (p.config_dir, "root", user, 750),  # holds production.env (secrets)
        (p.log_dir, user, LOG_READERS, 750),  # the Zabbix agent reads it
        (p.state_dir, user, user, 750),
    ]


def facts(own: Settings, packages: list[str]) -> list[Read]:
    """What base reads on every host (deploys/all.py reads it all in one command)."""
    p = own.platform
    platform = [p.base_dir, f"{p.base_dir}/wheelhouse", p.config_dir, p.log_dir, p.state_dir]
    homes = [f"/home/{op.name}/.ssh" for op in own.operators]
    return [
        (Accounts, {}),
        (Units, {"files": UNIT_FILES}),
        (InstalledPackages, {"packages": sorted(packages)}),  # infra/operations.debian_packages
        (Timezone, {}),
        *files_in("/etc/apt/apt.conf.d", "/etc/sudoers.d", "/etc/ssh/sshd_config.d", "/home"),
        *files_in(*platform, *homes),
        *file_entries("/etc/ssh/sshd_config"),
    ]


@deploy("Base host")
def apply(packages: list[str]) -> None:
    """`packages`: every Debian package of the host, `system.packages` and the other deploys'
    (deploys/all.py)."""
    own = settings()
    _apt(own, packages)
    if read_once(Timezone) != own.system.timezone:
        server.timezone(name="Set the time zone", timezone=own.system.timezone)
    _platform_user(own)
    ensure_group(name=f"Group {LOG_READERS} (reads the logs)", group=LOG_READERS, system=True)
    for path, owner, group, mode in host.loop(directory_layout(own)):
        ensure_directory(name=f"Directory {path}", path=path, user=owner, group=group, mode=mode)
    _operators(own)
    _ssh()


def _apt(settings: Settings, packages: list[str]) -> None:
    proxy = settings.system.apt_proxy
    if proxy:
        put_rendered(APT_PROXY_FILE, {"proxy": str(proxy)}, mode=644)
    else:
        ensure_absent(name="No apt proxy", path=APT_PROXY_FILE)
    debian_packages(
        name="Debian packages (every deploy's)",
        packages=packages,
        _timeout=600,  # an apt-get that hangs is cut off and retried
        _retries=2,
        _retry_delay=5,
    )


def _platform_user(settings: Settings) -> None:
    name = settings.platform.user
    ensure_group(name=f"Group {name}", group=name, system=True)
    ensure_user(
        name=f"System user {name} (no login)",
        user=name,
        group=name,
        system=True,
        home=settings.platform.state_dir,
        shell="/usr/sbin/nologin",
        ensure_home=False,
    )


def _ssh() -> None:
    """sshd: keys only, no forwarding, idle sessions end (the drop-in's comments say why)."""
    config = put_rendered(SSHD_DROP_IN, {}, mode=644, check="sshd -t -f {path}")
    reload_if_changed({"sshd drop-in": config}, name="Reload sshd", service="ssh")


def _operators(settings: Settings) -> None:
    """Operators' accounts (group `operators`, sudo), their keys as their only way in. The keys
    file is staged like every file root writes (checked_file), never through /tmp."""
    ensure_group(name=f"Group {OPERATORS_GROUP}", group=OPERATORS_GROUP)
    wanted = {op.name for op in settings.operators}
    for op in settings.operators:
        home = f"/home/{op.name}"
        if not user_matches(op.name, home=home, shell="/bin/bash", groups=[OPERATORS_GROUP]):
            server.user(
                name=f"Operator {op.name}",
                user=op.name,
                shell="/bin/bash",
                home=home,
                groups=[OPERATORS_GROUP],
                ensure_home=True,
            )
        ensure_directory(
            name=f"Home {home} (its owner's only)", path=home, user=op.name, group=op.name, mode=750
        )
        ensure_directory(
            name=f"Directory {home}/.ssh",
            path=f"{home}/.ssh",
            user=op.name,
            group=op.name,
            mode=700,
        )
        checked_file(
            name=f"SSH keys of {op.name}",
            dest=f"{home}/.ssh/authorized_keys",
            content="".join(f"{key}\n" for key in op.ssh_keys),
            user=op.name,
            group=op.name,
            mode=600,
        )
    # Operators dropped from group data lose their account (their home stays for audit).
    former = read_once(Accounts)["groups"].get(OPERATORS_GROUP, [])
    for name in sorted(set(former) - wanted):
        server.user(name=f"Remove former operator {name}", user=name, present=False)
    ensure_directory(
        name="Directory /etc/sudoers.d (root's only)",
        path="/etc/sudoers.d",
        user="root",
        group="root",
        mode=750,
    )
    put_rendered(
        SUDOERS_FILE,
        {"operators": settings.operators},
        name=f"Sudoers {SUDOERS_FILE} (checked by visudo)",
        check="visudo -cf {path}",
        mode=440,
    )
