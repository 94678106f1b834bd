"""The Zabbix items of the platform, declared once (USER_PARAMETERS).

The agent's UserParameter file (deploys/zabbix.py) and the Zabbix 6.0 template in zabbix/
(`python -m tools.zabbix_template`) are both generated from it; a unit test fails when the
committed template differs.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import yaml

from infra.jobs import host_jobs, stamp
from infra.services import deployed, instance_units
from infra.settings import Settings

TEMPLATE_FILE = Path(__file__).resolve().parent.parent / "zabbix" / "aktienanalyse-template.yaml"
LOG_DIR = "/var/log/aktienanalyse"

# key -> (command, item name, Zabbix value type). `$1` is the key's first parameter.
USER_PARAMETERS: dict[str, tuple[str, str, str]] = {
    "aktienanalyse.discovery": (
        "cat /etc/zabbix/aktienanalyse-discovery.json",
        "aktienanalyse units",
        "TEXT",
    ),
    "aktienanalyse.unit.active[*]": (
        'case "$(systemctl is-active "$1")" in active) echo 1 ;; *) echo 0 ;; esac',
        "{#UNIT}: active",
        "UNSIGNED",
    ),
    "aktienanalyse.log.errors[*]": (
        f"cat {LOG_DIR}/$1.log 2>/dev/null | awk '/ERROR/ {{n++}} END {{print n+0}}'",
        "{#UNIT}: log errors",
        "UNSIGNED",
    ),
    "aktienanalyse.log.warnings[*]": (
        f"cat {LOG_DIR}/$1.log 2>/dev/null | awk '/WARNING/ {{n++}} END {{print n+0}}'",
        "{#UNIT}: log warnings",
        "UNSIGNED",
    ),
    "aktienanalyse.jobs.discovery": (
        "cat /etc/zabbix/aktienanalyse-jobs.json",
        "aktienanalyse scheduled jobs",
        "TEXT",
    ),
    "aktienanalyse.updates.security": (
        "apt-get -s -o Debug::NoLocking=true dist-upgrade 2>/dev/null"
        " | awk '/^Inst .*Debian-Security/ {n++} END {print n+0}'",
        "security updates pending",
        "UNSIGNED",
    ),
    "aktienanalyse.health[*]": (
        "curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://127.0.0.1:$1/health",
        "{#UNIT}: /health HTTP status",
        "UNSIGNED",
    ),
}
# How each prototype's parameter is filled from a discovered unit.
PROTOTYPE_ARGUMENT = {
    "aktienanalyse.unit.active[*]": "{#UNIT}",
    "aktienanalyse.log.errors[*]": "{#LOG}",
    "aktienanalyse.log.warnings[*]": "{#LOG}",
    "aktienanalyse.health[*]": "{#PORT}",
}


def discovery(settings: Settings, is_app_host: bool, migrates: bool) -> dict:
    """Low-level discovery data: one entry per unit this host runs."""
    entries = []
    for name, service in deployed(settings) if is_app_host else []:
        for unit, port in zip(instance_units(name, service), service.ports, strict=True):
            entries.append(
                {
                    "{#UNIT}": unit,
                    "{#SERVICE}": name,
                    "{#PORT}": str(port),
                    "{#LOG}": f"{name}-{port}",
                }
            )
    if migrates:
        entries.append({"{#UNIT}": "aktienanalyse-migration.service",
                        "{#SERVICE}": "migration", "{#PORT}": "", "{#LOG}": ""})  # fmt: skip
    return {"data": entries}


def jobs_discovery(settings: Settings, groups: set[str]) -> dict:
    """Low-level discovery data: one entry per scheduled job; a backup job also names the
    stamp its verified backups touch and how old that may grow (seconds)."""
    entries = []
    for job in host_jobs(settings, groups):
        kind = next((k for k in ("postgresql", "redis") if job.name.startswith(k + "-")), None)
        backup = job.name.startswith("postgresql-backup") or job.name == "redis-snapshot-copy"
        entries.append(
            {
                "{#JOB}": job.unit,
                "{#STAMP}": stamp(kind) if backup else "",
                "{#MAXAGE}": str(settings.backup.max_age_hours * 3600),
            }
        )
    return {"data": entries}


# Triggers: (item key in the template, expression after the function's item reference,
# name, severity). `{item}` is replaced with the item reference.
TRIGGERS = {
    "aktienanalyse.unit.active[{#UNIT}]": [
        ("last({item})=0", "{#UNIT} is down", "HIGH"),
    ],
    "aktienanalyse.health[{#PORT}]": [
        ("last({item})<>200", "{#UNIT} is not healthy (/health)", "AVERAGE"),
    ],
    "systemd.unit.info[{#JOB}.service,Result,Service]": [
        ('last({item})<>"success"', "job {#JOB} failed", "AVERAGE"),
    ],
    "vfs.file.time[{#STAMP},modify]": [
        ("now()-last({item})>{#MAXAGE}", "{#JOB}: last verified backup too old", "HIGH"),
    ],
    "aktienanalyse.updates.security": [
        ("min({item},1d)>0", "security updates pending for a day", "WARNING"),
    ],
}
TEMPLATE_NAME = "aktienanalyse platform"


def _triggers(key: str, prototype: bool) -> dict:
    found = TRIGGERS.get(key)
    if not found:
        return {}
    item = f"/{TEMPLATE_NAME}/{key}"
    triggers = [
        {
            "uuid": _uuid(f"trigger {key} {name}"),
            "expression": expression.replace("{item}", item),
            "name": name,
            "priority": priority,
        }
        for expression, name, priority in found
    ]
    return {"trigger_prototypes" if prototype else "triggers": triggers}


def user_parameters_text() -> str:
    lines = ["# Managed by deploys/zabbix.py (USER_PARAMETERS); edits are overwritten."]
    lines += [f"UserParameter={key},{command}" for key, (command, _, _) in USER_PARAMETERS.items()]
    return "\n".join(lines) + "\n"


def _uuid(name: str) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"aktienanalyse/{name}").hex


def template() -> dict:
    """The Zabbix 6.0 template export for USER_PARAMETERS (discovery + item prototypes)."""
    prototypes = []
    for key, argument in PROTOTYPE_ARGUMENT.items():
        _, name, value_type = USER_PARAMETERS[key]
        concrete = key.replace("[*]", f"[{argument}]")
        prototypes.append(
            {
                "uuid": _uuid(concrete),
                "name": name,
                "key": concrete,
                "delay": "1m",
                "value_type": value_type,
                **_triggers(concrete, prototype=True),
            }
        )
    job_items = [
        ("systemd.unit.info[{#JOB}.service,Result,Service]", "{#JOB}: last result", "CHAR"),
        ("vfs.file.time[{#STAMP},modify]", "{#JOB}: last verified backup", "UNSIGNED"),
    ]
    job_prototypes = [
        {
            "uuid": _uuid(key),
            "name": name,
            "key": key,
            "delay": "5m",
            "value_type": value_type,
            **_triggers(key, prototype=True),
        }
        for key, name, value_type in job_items
    ]
    updates_key = "aktienanalyse.updates.security"
    return {
        "zabbix_export": {
            "version": "6.0",
            "groups": [{"uuid": _uuid("group"), "name": "Templates/Applications"}],
            "templates": [
                {
                    "uuid": _uuid("template"),
                    "template": "aktienanalyse platform",
                    "name": "aktienanalyse platform",
                    "groups": [{"name": "Templates/Applications"}],
                    "discovery_rules": [
                        {
                            "uuid": _uuid("aktienanalyse.discovery"),
                            "name": USER_PARAMETERS["aktienanalyse.discovery"][1],
                            "key": "aktienanalyse.discovery",
                            "delay": "1h",
                            "item_prototypes": prototypes,
                        },
                        {
                            "uuid": _uuid("aktienanalyse.jobs.discovery"),
                            "name": USER_PARAMETERS["aktienanalyse.jobs.discovery"][1],
                            "key": "aktienanalyse.jobs.discovery",
                            "delay": "1h",
                            "item_prototypes": job_prototypes,
                        },
                    ],
                    "items": [
                        {
                            "uuid": _uuid(updates_key),
                            "name": USER_PARAMETERS[updates_key][1],
                            "key": updates_key,
                            "delay": "1h",
                            "value_type": "UNSIGNED",
                            **_triggers(updates_key, prototype=False),
                        }
                    ],
                }
            ],
        }
    }


def template_text() -> str:
    return "# Generated by `python -m tools.zabbix_template`; do not edit.\n" + yaml.safe_dump(
        template(), sort_keys=False
    )
