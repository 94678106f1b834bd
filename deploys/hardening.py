"""Host hardening beyond the units' sandboxes (every host): what a hardening audit (lynis)
asks for that means something in an LXC container. No settings.

- no core dumps (a dump holds the crashed process's memory, its secrets included);
- /etc/login.defs: umask 027 and homes 0750 for new accounts, explicit SHA-512 rounds, a
  day between password changes;
- a legal banner in /etc/issue and /etc/issue.net;
- cron's directories and sshd_config root's alone (dpkg stat overrides keep the latter);
- debsums, apt-show-versions and apt-listchanges: packages verified against their checksums,
  patch state, what an upgrade changes (in apt's output);
- passwdqc: password strength checks, should a password ever be set;
- sysstat: activity accounting (sar), kept a week.

Left out, because a container cannot use them or they would fight the platform: kernel module
blacklists and sysctl (the host kernel's), auditd and process accounting (no capability),
separate partitions, password ageing (key-only accounts would lock out), MaxSessions 2 (SSH
multiplexing), libpam-tmpdir (a root-only $TMPDIR breaks the checks that hand a temporary
directory to a daemon's user), fail2ban, AIDE and malware scanners (the platform's monitoring
is Zabbix).
"""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import deploy

from facts.snapshot import Read, file_entries, files_in
from infra.operations import ensure_directory, ensure_service, ensure_stat_override
from infra.templating import put_rendered

# Installed with every other deploy's by deploys/base.py, in one apt transaction.
PACKAGES = ["debsums", "apt-show-versions", "apt-listchanges", "libpam-passwdqc", "sysstat"]
FILES = [
    "/etc/security/limits.d/50-aktienanalyse.conf",
    "/etc/login.defs",
    "/etc/issue",
    "/etc/issue.net",
    "/etc/default/sysstat",
]
CRON_DIRS = [f"/etc/cron.{kind}" for kind in ("d", "hourly", "daily", "weekly", "monthly")]


def facts(own) -> list[Read]:
    return [
        *files_in("/etc/security/limits.d", "/etc/default", *CRON_DIRS),
        *file_entries("/etc/login.defs", "/etc/issue", "/etc/issue.net", "/etc/ssh/sshd_config"),
    ]


@deploy("Hardening")
def apply() -> None:
    for path in host.loop(FILES):
        put_rendered(path, {}, mode=644)
    for path in host.loop(CRON_DIRS):
        ensure_directory(
            name=f"Directory {path} (root's alone)", path=path, user="root", group="root", mode=700
        )
    ensure_stat_override(
        name="Owner of /etc/ssh/sshd_config (root's alone)",
        path="/etc/ssh/sshd_config",
        user="root",
        group="root",
        mode=600,
        kind="f",
    )
    ensure_service(name="sysstat collects", service="sysstat", running=True, enabled=True)
