"""Scheduled jobs as systemd timers (every host): the backups of the host's data services and
the `jobs` setting (name, schedule, run_as, command).

Each job is `aktienanalyse-job-<name>.service` (oneshot, sandboxed like the service units,
run as `postgres` on db hosts or as a service's own user on app hosts running it) and its
timer. Job timers and units that no job declares are stopped and removed. `systemctl list-timers
'aktienanalyse-job-*'` shows them; Zabbix reads each job's last result.
"""

from __future__ import annotations

import fnmatch

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import files, systemd

from facts.files import regular_files
from facts.snapshot import Read, files_in
from infra.effects import run_if_changed
from infra.hostdata import cluster, repository_host, settings
from infra.jobs import host_jobs
from infra.operations import ensure_service, unit_check
from infra.templating import put_rendered

UNIT_DIR = "/etc/systemd/system"
PACKAGES: list[str] = []  # only systemd units


def facts(own) -> list[Read]:
    return files_in(UNIT_DIR, "/usr/local/sbin")


@deploy("Scheduled jobs")
def apply() -> None:
    own = settings()
    jobs = host_jobs(
        own, set(host.groups), cluster().postgresql, repository_host=repository_host() is not None
    )
    changed = {}
    for job in host.loop(jobs):
        for kind in ("service", "timer"):
            changed[f"{job.unit}.{kind}"] = put_rendered(
                f"{UNIT_DIR}/{job.unit}.{kind}",
                {"job": job, "platform": own.platform},
                template=f"{UNIT_DIR}/aktienanalyse-job.{kind}",
                mode=644,
                check=unit_check(f"{job.unit}.{kind}"),
            )
    wanted = {f"{job.unit}.{kind}" for job in jobs for kind in ("service", "timer")}
    strays = [
        name
        for name in sorted(regular_files(UNIT_DIR))
        if fnmatch.fnmatchcase(name, "aktienanalyse-job-*.service")
        or fnmatch.fnmatchcase(name, "aktienanalyse-job-*.timer")
    ]
    for stray in host.loop([name for name in strays if name not in wanted]):
        if stray.endswith(".timer"):
            systemd.service(
                name=f"Stop {stray} (job no longer declared)",
                service=stray,
                running=False,
                enabled=False,
            )
        changed[stray] = files.file(
            name=f"Remove {stray}", path=f"{UNIT_DIR}/{stray}", present=False
        )
    run_if_changed(
        changed, systemd.daemon_reload, effect="reload", name="Reload systemd (job units)"
    )
    for job in host.loop(jobs):
        ensure_service(
            name=f"Timer {job.unit}", service=f"{job.unit}.timer", running=True, enabled=True
        )
