"""Zabbix agent 2 (every host): PSK-encrypted both ways, UserParameters from what is deployed.

Settings: `zabbix` (server, server_active), and the deployed `services` for the discovery.
The PSK is generated once on the host (never overwritten, never printed, zabbix-only
readable); README "Zabbix" says how to fetch it for the server's host registration.

USER_PARAMETERS is the one list of item keys: the agent's UserParameter file and the Zabbix
6.0 template in zabbix/ are both generated from it (`python -m deploys.zabbix --template`),
and a unit test fails when the committed template differs.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path

import yaml
from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.files import File
from pyinfra.operations import server, systemd

from deploys.app import deployed, instance_units, runs_migrations
from deploys.base import LOG_READERS
from deploys.operations import apt_install, checked_file, run_if_changed
from deploys.settings import Settings
from deploys.templating import render

CONFIG = "/etc/zabbix/zabbix_agent2.conf"
USER_PARAMETERS_FILE = "/etc/zabbix/zabbix_agent2.d/aktienanalyse.conf"
PSK_FILE = "/etc/zabbix/aktienanalyse.psk"
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
            }
        )
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
                        }
                    ],
                }
            ],
        }
    }


def template_text() -> str:
    return "# Generated by `python -m deploys.zabbix --template`; do not edit.\n" + yaml.safe_dump(
        template(), sort_keys=False
    )


@deploy("Zabbix agent 2")
def apply() -> None:
    settings: Settings = host.data.settings
    apt_install("Zabbix agent 2", ["zabbix-agent2", "curl"])
    reader = server.user(
        name=f"The agent reads the platform's logs (group {LOG_READERS})",
        user="zabbix",
        groups=[LOG_READERS],
        append=True,
        system=True,
        ensure_home=False,
    )
    if not host.get_fact(File, path=PSK_FILE):
        # Generated on the host, read by nobody but the agent; never leaves it in a deploy.
        server.shell(
            name=f"Generate the PSK {PSK_FILE} (once)",
            commands=[
                f"umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \\n' > {PSK_FILE}.new"
                f" && chown zabbix:zabbix {PSK_FILE}.new && chmod 400 {PSK_FILE}.new"
                f" && mv {PSK_FILE}.new {PSK_FILE}"
            ],
        )
    config = checked_file(
        name=f"Agent configuration {CONFIG} (checked by zabbix_agent2 -p)",
        dest=CONFIG,
        content=render(CONFIG, zabbix=settings.zabbix, hostname=host.name, psk_file=PSK_FILE),
        check="zabbix_agent2 -c {path} -p >/dev/null",
        mode=644,
    )
    parameters = checked_file(
        name=f"UserParameters {USER_PARAMETERS_FILE}",
        dest=USER_PARAMETERS_FILE,
        content=user_parameters_text(),
        mode=644,
    )
    checked_file(  # read on every poll: no restart needed
        name="Discovery data /etc/zabbix/aktienanalyse-discovery.json",
        dest="/etc/zabbix/aktienanalyse-discovery.json",
        content=json.dumps(
            discovery(settings, "app" in host.data.groups, runs_migrations()), indent=1
        )
        + "\n",
        mode=644,
    )
    systemd.service(name="Agent running and enabled", service="zabbix-agent2", enabled=True)
    run_if_changed(
        [config, parameters, reader],
        systemd.service,
        name="Restart the agent (configuration changed)",
        service="zabbix-agent2",
        restarted=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The Zabbix template of USER_PARAMETERS")
    parser.add_argument("--template", action="store_true", help="write " + str(TEMPLATE_FILE))
    args = parser.parse_args(argv)
    if args.template:
        TEMPLATE_FILE.parent.mkdir(exist_ok=True)
        TEMPLATE_FILE.write_text(template_text())
        return 0
    sys.stdout.write(user_parameters_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
