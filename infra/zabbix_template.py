"""The Zabbix 6.0 template in zabbix/, generated from the items of infra/zabbix_items.py
(`python -m tools.zabbix_template`): discovery rules, item prototypes, host items, triggers.
A unit test fails when the committed template differs.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import yaml

from infra.zabbix_items import PROTOTYPES, USER_PARAMETERS

TEMPLATE_FILE = Path(__file__).resolve().parent.parent / "zabbix" / "aktienanalyse-template.yaml"

# The stock "Linux by Zabbix agent" template's thresholds, set as host macros when a host is
# registered (tools/zabbix_register.py): disks warn at 85 % and go critical at 90 % (seed 001);
# CPU and memory raise the stock template's problem at 90 %, and warn at 85 % through this
# template's own items.
HOST_MACROS = {
    "{$VFS.FS.PUSED.MAX.WARN}": "85",
    "{$VFS.FS.PUSED.MAX.CRIT}": "90",
    "{$CPU.UTIL.CRIT}": "90",
    "{$MEMORY.UTIL.MAX}": "90",
}
CERTIFICATE_MIN_DAYS = 21
# Agent 2's own items this template adds (key, name, value type); the keys differ from the
# stock Linux template's, which a host links too (Zabbix refuses a key twice on one host).
HOST_ITEMS = [
    ("system.cpu.util[all,idle,avg1]", "CPU idle (1 min average)", "FLOAT"),
    ("aktienanalyse.memory.pused", "memory used (MemAvailable), %", "FLOAT"),
]


TEMPLATE_NAME = "aktienanalyse platform"
# The template's own macros (macro -> default, description); a host macro overrides one.
PG_LAG_MACRO = "{$AKTIENANALYSE.PG.LAG}"
MACROS = {
    PG_LAG_MACRO: ("30", "Seconds a PostgreSQL standby may replay behind its primary"),
}


def _ref(key: str) -> str:
    """The reference to the template's item (or item prototype) `key` in an expression."""
    return f"/{TEMPLATE_NAME}/{key}"


# Triggers: (item key in the template, expression after the function's item reference,
# name, severity). `{item}` is replaced with the item reference.
TRIGGERS = {
    "systemd.unit.info[{#UNIT},ActiveState]": [
        ('last({item})<>"active"', "{#UNIT} is down", "HIGH"),
    ],
    "aktienanalyse.health[{#PORT}]": [
        ("last({item})<>200", "{#UNIT} is not healthy (/health)", "AVERAGE"),
    ],
    "systemd.unit.info[{#DAEMON},ActiveState]": [
        ('last({item})<>"active"', "{#DAEMON} is down", "HIGH"),
    ],
    "systemd.unit.info[{#JOB}.service,Result,Service]": [
        ('last({item})<>"success"', "job {#JOB} failed", "AVERAGE"),
    ],
    "vfs.file.time[{#STAMP},modify]": [
        ("now()-last({item})>{#MAXAGE}", "{#JOB}: last verified backup too old", "HIGH"),
    ],
    "aktienanalyse.tls.not_after[{#TLSPORT}]": [
        (
            f"last({{item}})-now()<{CERTIFICATE_MIN_DAYS * 86400}",
            f"TLS certificate on port {{#TLSPORT}} expires within {CERTIFICATE_MIN_DAYS} days",
            "WARNING",
        ),
    ],
    "system.cpu.util[all,idle,avg1]": [
        ("max({item},5m)<15", "CPU busier than 85 % for 5 minutes", "WARNING"),
    ],
    "aktienanalyse.memory.pused": [
        ("min({item},5m)>85", "memory more than 85 % used for 5 minutes", "WARNING"),
    ],
    "aktienanalyse.pgsql.connections[{#PGDB}]": [
        ("last({item})>=40", "{#PGDB}: 40 connections or more", "WARNING"),
        ("last({item})>=45", "{#PGDB}: 45 connections or more", "HIGH"),
    ],
    "aktienanalyse.pgsql.cache_hit[{#PGDB}]": [
        ("max({item},15m)<95", "{#PGDB}: cache hit ratio below 95 % for 15 minutes", "WARNING"),
    ],
    "aktienanalyse.pgsql.replay_lag[{#PGPORT}]": [
        (
            f"min({{item}},2m)>{PG_LAG_MACRO}",
            f"PostgreSQL standby more than {PG_LAG_MACRO} s behind for 2 minutes",
            "AVERAGE",
        ),
    ],
    "aktienanalyse.patroni.primaries[{#RESTPORT}]": [
        ("last({item})>1", "more than one PostgreSQL primary (Patroni /primary)", "DISASTER"),
    ],
    "aktienanalyse.etcd.healthy[{#ETCDPORT}]": [
        ("last({item})=0", "etcd member is not healthy", "HIGH"),
    ],
    "aktienanalyse.redis.masters[{#REDISPORT}]": [
        ("last({item})>1", "more than one Redis master (role:master)", "DISASTER"),
    ],
    "aktienanalyse.sentinel.quorum[{#SENTINELPORT}]": [
        ("last({item})=0", "Sentinel: no majority of Sentinels for a failover", "HIGH"),
    ],
    "aktienanalyse.redis.memory_pused[{#REDISPORT}]": [
        ("last({item})>=80", "Redis: 80 % of maxmemory used", "WARNING"),
        ("last({item})>=95", "Redis: 95 % of maxmemory used", "HIGH"),
    ],
    "aktienanalyse.redis.clients[{#REDISPORT}]": [
        ("last({item})>=50", "Redis: 50 clients or more", "WARNING"),
        ("last({item})>=100", "Redis: 100 clients or more", "HIGH"),
    ],
    "aktienanalyse.updates.security": [
        # A day of hourly values, none of them 0: unattended-upgrades did not install them.
        (
            "min({item},1d)>0 and count({item},1d)>=24",
            "security updates pending for a day",
            "WARNING",
        ),
    ],
}
# Trigger prototypes on more than one item prototype of a discovery rule, which Zabbix
# exports with the rule: rule key -> (expression, name, severity). A primary "for 1 minute"
# had no other role in that minute: a standby just promoted counted no standby of its own.
_ROLE = _ref("aktienanalyse.pgsql.role[{#PGPORT}]")
_SYNC = _ref("aktienanalyse.pgsql.sync_standbys[{#PGPORT}]")
RULE_TRIGGERS = {
    "aktienanalyse.patroni.discovery": [
        (
            f'last({_ROLE})="primary" and count({_ROLE},1m,"ne","primary")=0 and max({_SYNC},1m)=0',
            "PostgreSQL primary without a synchronous standby for 1 minute",
            "HIGH",
        ),
    ],
}


def _triggers(key: str, prototype: bool) -> dict:
    found = TRIGGERS.get(key)
    if not found:
        return {}
    triggers = [
        (expression.replace("{item}", _ref(key)), name, priority)
        for expression, name, priority in found
    ]
    return {"trigger_prototypes" if prototype else "triggers": _exported(key, triggers)}


def _exported(owner: str, triggers: list[tuple[str, str, str]]) -> list[dict]:
    """Triggers as exported, each with a stable UUID from its owner's key and its name."""
    return [
        {
            "uuid": _uuid(f"trigger {owner} {name}"),
            "expression": expression,
            "name": name,
            "priority": priority,
        }
        for expression, name, priority in triggers
    ]


def _uuid(name: str) -> str:
    """A stable UUID per name, in the version-4 form Zabbix's import insists on."""
    digest = uuid.uuid5(uuid.NAMESPACE_URL, f"aktienanalyse/{name}").bytes
    return uuid.UUID(bytes=digest, version=4).hex


def template() -> dict:
    """The Zabbix 6.0 template export: discovery rules, item prototypes, host items, triggers."""
    rules = [_rule(key, prototypes) for key, prototypes in _rule_prototypes().items()]
    updates_key = "aktienanalyse.updates.security"
    items = [_item(updates_key, USER_PARAMETERS[updates_key][1], "UNSIGNED", "1h")]
    items += [_item(key, name, value_type, "1m") for key, name, value_type in HOST_ITEMS]
    return {
        "zabbix_export": {
            "version": "6.0",
            "groups": [{"uuid": _uuid("group"), "name": "Templates/Applications"}],
            "templates": [
                {
                    "uuid": _uuid("template"),
                    "template": TEMPLATE_NAME,
                    "name": TEMPLATE_NAME,
                    "groups": [{"name": "Templates/Applications"}],
                    "discovery_rules": rules,
                    "items": items,
                    "macros": [
                        {"macro": macro, "value": value, "description": description}
                        for macro, (value, description) in MACROS.items()
                    ],
                }
            ],
        }
    }


def _rule_prototypes() -> dict[str, list[dict]]:
    """Each discovery rule's item prototypes, in the template's order."""
    filled = {
        rule: [_filled(key, argument) for key, argument in keys.items()]
        for rule, keys in PROTOTYPES.items()
    }
    certificate = "web.certificate.get[localhost,{#TLSPORT}]"
    valid_until = {
        "units": "unixtime",
        "type": "DEPENDENT",
        "master_item": {"key": certificate},
        "preprocessing": [{"type": "JSONPATH", "parameters": ["$.x509.not_after.timestamp"]}],
    }
    return {
        "aktienanalyse.discovery": [_unit_state("{#UNIT}"), *filled["aktienanalyse.discovery"]],
        "aktienanalyse.daemons.discovery": [_unit_state("{#DAEMON}")],
        "aktienanalyse.pgsql.discovery": filled["aktienanalyse.pgsql.discovery"],
        "aktienanalyse.patroni.discovery": filled["aktienanalyse.patroni.discovery"],
        "aktienanalyse.etcd.discovery": filled["aktienanalyse.etcd.discovery"],
        "aktienanalyse.redis.discovery": filled["aktienanalyse.redis.discovery"],
        "aktienanalyse.rediscluster.discovery": filled["aktienanalyse.rediscluster.discovery"],
        "aktienanalyse.sentinel.discovery": filled["aktienanalyse.sentinel.discovery"],
        "aktienanalyse.jobs.discovery": [
            _prototype(
                "systemd.unit.info[{#JOB}.service,Result,Service]",
                "{#JOB}: last result",
                "CHAR",
                "5m",
            ),
        ],
        "aktienanalyse.backups.discovery": [
            _prototype(
                "vfs.file.time[{#STAMP},modify]",
                "{#JOB}: last verified backup",
                "UNSIGNED",
                "5m",
                units="unixtime",
            ),
        ],
        "aktienanalyse.tls.discovery": [
            _prototype(certificate, "TLS certificate on port {#TLSPORT}", "TEXT", "1h"),
            _prototype(
                "aktienanalyse.tls.not_after[{#TLSPORT}]",
                "TLS certificate on port {#TLSPORT}: valid until",
                "UNSIGNED",
                "0",
                **valid_until,
            ),
        ],
    }


def _unit_state(macro: str) -> dict:
    """The state of the discovered unit `macro`, from Agent 2's systemd plugin, not a
    UserParameter: the agent refuses '@' (every instance unit has one) in a UserParameter's
    arguments, and the plugin reads D-Bus, not a shell."""
    return _prototype(f"systemd.unit.info[{macro},ActiveState]", f"{macro}: state", "CHAR", "1m")


def _filled(key: str, argument: str) -> dict:
    """The item prototype of the [*] UserParameter `key`, its parameter filled by `argument`."""
    _, name, value_type = USER_PARAMETERS[key]
    return _prototype(key.replace("[*]", f"[{argument}]"), name, value_type, "1m")


def _rule(key: str, prototypes: list[dict]) -> dict:
    """A discovery rule reading one of USER_PARAMETERS' discovery files, hourly, with the
    trigger prototypes RULE_TRIGGERS declares for it."""
    # lifetime 0: what the host's discovery file leaves out (an instance scaled away, a job
    # removed) is deleted at once, instead of raising "down" for the 30 days Zabbix keeps it
    # by default.
    triggers = RULE_TRIGGERS.get(key)
    return {
        "uuid": _uuid(key),
        "name": USER_PARAMETERS[key][1],
        "key": key,
        "delay": "1h",
        "lifetime": "0",
        "item_prototypes": prototypes,
        **({"trigger_prototypes": _exported(key, triggers)} if triggers else {}),
    }


def _prototype(key: str, name: str, value_type: str, delay: str, **extra) -> dict:
    """An item prototype (of a discovery rule), with its trigger prototypes."""
    return _item(key, name, value_type, delay, prototype=True, **extra)


def _item(
    key: str, name: str, value_type: str, delay: str, prototype: bool = False, **extra
) -> dict:
    """An item (or item prototype) with the triggers TRIGGERS declares for its key; `extra`
    adds export fields (type, units, master_item, preprocessing)."""
    return {
        "uuid": _uuid(key),
        "name": name,
        "key": key,
        "delay": delay,
        "value_type": value_type,
        **extra,
        **_triggers(key, prototype),
    }


def template_text() -> str:
    return "# Generated by `python -m tools.zabbix_template`; do not edit.\n" + yaml.safe_dump(
        template(), sort_keys=False
    )
