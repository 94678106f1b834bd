"""Validation of every host's settings as pyinfra loaded them, before any host is contacted.

`validate()` checks each host (`validate_host`: its groups, address, connection data and
sections against `infra.settings.Settings`), then what hosts must agree on (a shared section,
a secret's reference, distinct addresses) and what secrets must never be (reused, or pasted
into a setting). Every problem is one line, `host: file: key: reason`, never a value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from ipaddress import ip_address
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from infra import cluster
from infra.inventory import HostView, escaped, not_plain_data, relative
from infra.jobs import STATUS_DIR, host_jobs
from infra.services import LOG_READERS, service_user
from infra.settings import CLUSTER_SECRETS, GROUPS, SECRET_OWNERS, SERVICES, Settings

SECTIONS = tuple(Settings.model_fields)
# Which group owns a section that other hosts read.
OWNERS = {"services": "app", "haproxy": "lb", "postgresql": "db", "redis": "cache"}
# Host data that is not a setting: how pyinfra connects, and the host's address. Nothing else:
# pyinfra would read e.g. `_shell_executable` or `_ignore_errors` as every operation's default.
CONNECTION_KEYS = frozenset(
    {
        "address",
        "ssh_hostname",
        "ssh_user",
        "ssh_port",
        "ssh_key",
        "ssh_known_hosts_file",
        "ssh_strict_host_key_checking",
        "ssh_config_file",
        "ssh_connect_retries",
        "_sudo",
    }
)
# Groups whose hosts the others connect to at their `address` (pg_hba, firewall sets, HAProxy's
# backends and admin sockets, the services' database and cache).
REACHED_BY_PEERS = ("lb", "app", "db", "cache")
HOST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$")
KEYED_REASON = re.compile(
    r"^(?P<key>[A-Za-z_][A-Za-z0-9_]*(\.[^\s:]+)*): (?P<reason>.*)$", re.DOTALL
)


class SettingsError(Exception):
    """Invalid settings; str() lists every problem as `host: file: key: reason`."""


# ---------------------------------------------------------------------------------------------
# Validation


def _first_difference(a: Any, b: Any, prefix: str) -> str:
    """The dotted key where two dumped settings first differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), f"{prefix}.{key}")
    return prefix


def _errors(host: HostView, exc: ValidationError) -> list[str]:
    problems = []
    for error in exc.errors():
        loc = tuple(str(part) for part in error["loc"] if not str(part).startswith("function-"))
        loc = tuple(part.encode("unicode_escape").decode() for part in loc)  # a key's "\n"
        key = ".".join(loc) or "(settings)"
        reason = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            reason = "unknown setting"
        keyed = KEYED_REASON.match(reason)
        if keyed:  # a check across sections, or of a dict's entries, names its key first
            named = tuple(keyed["key"].split("."))
            loc = loc if loc[-len(named) :] == named else (*loc, *named)
            key, reason = ".".join(loc), keyed["reason"]
        where = host.source(loc[0]) if loc else "settings"
        problems.append(f"{host.name}: {where}: {key}: {reason}")
    return problems


def validate_host(host: HostView) -> Settings:
    """One host's settings from what pyinfra loaded for it; SettingsError lists problems."""
    problems = []
    inventory_file = host.layers[1][0]
    if not HOST_NAME.fullmatch(host.name):  # it names the host in scripts, HAProxy and Zabbix
        problems.append(
            f"{escaped(host.name)}: {inventory_file}: host name: use letters, "
            "digits, '.' and '-' (at most 63)"
        )
    if not host.groups:
        problems.append(f"{host.name}: {inventory_file}: groups: the host is in no group")
    if host.get("ssh_strict_host_key_checking") != "yes" and not host.name.startswith("@"):
        problems.append(
            f"{host.name}: {host.source('ssh_strict_host_key_checking')}: "
            'ssh_strict_host_key_checking: must be "yes" (host keys pinned in '
            "ssh_known_hosts_file); never accept unknown host keys"
        )
    unknown_groups = sorted(set(host.groups) - set(GROUPS))
    if unknown_groups:
        problems.append(
            f"{host.name}: {host.layers[1][0]}: groups: unknown group(s) "
            f"{', '.join(unknown_groups)} (known: {', '.join(GROUPS)})"
        )
    if "monitoring" in host.groups and "db" in host.groups:
        problems.append(
            f"{host.name}: {inventory_file}: groups: monitoring and db on one host "
            "(each manages PostgreSQL's pg_hba.conf); give the Zabbix server a host "
            "of its own"
        )
    for key in sorted({k for _, data in host.layers for k in data}):
        if key not in SECTIONS and key not in CONNECTION_KEYS:
            problems.append(
                f"{host.name}: {host.source(key)}: {escaped(key)}: unknown setting "
                "(settings are the sections of infra/settings/; connection data "
                f"is {', '.join(sorted(CONNECTION_KEYS))})"
            )
    problems += group_conflicts(host)
    problems += _address_problems(host)
    wrong = {
        (where, key): path
        for where, data in host.layers
        for key in data
        if (path := not_plain_data(data[key], key))
    }
    problems += [
        f"{host.name}: {where}: {escaped(path)}: not a setting value (settings are "
        "dicts with string keys, lists, strings, numbers, booleans and None)"
        for (where, _), path in wrong.items()
    ]
    unusable = {key for _, key in wrong}
    raw = {s: host.get(s) for s in SECTIONS if host.has(s) and s not in unusable}
    settings = None
    try:
        settings = Settings.model_validate(raw, context={"groups": host.groups})
    except ValidationError as exc:
        problems += _errors(host, exc)
    if settings is not None:
        problems += _connecting_user_problems(host, settings)
        problems += _generated_name_problems(host, settings)
        for secret, group in SECRET_OWNERS.items():
            needed = secret != "pgbackrest_cipher_pass" or settings.backup.enabled
            needed = needed and secret not in CLUSTER_SECRETS
            if group in host.groups and needed and secret not in settings.secrets:
                problems.append(
                    f"{host.name}: {host.source('secrets')}: secrets.{secret}: "
                    f"required on {group} hosts"
                )
    if problems:
        raise SettingsError("\n".join(problems))
    return settings


def _connecting_user_problems(host: HostView, settings: Settings) -> list[str]:
    """pyinfra's SSH user (`ssh_user`, other than root) must be an operator with sudo: base
    would otherwise remove its account or its sudo, and the next run could not connect."""
    user = host.get("ssh_user")
    if user in (None, "root"):
        return []
    operator = next((op for op in settings.operators if op.name == user), None)
    if operator is not None and operator.sudo:
        return []
    return [
        f"{host.name}: {host.source('operators')}: operators: pyinfra connects as "
        f"{escaped(str(user))} ({host.source('ssh_user')}: ssh_user), who must be listed "
        "with sudo, or a converge takes away the access it runs on"
    ]


def generated_names(settings: Settings) -> dict[str, str]:
    """The names the deploys make themselves (accounts, groups, job units), each with what it
    names: one namespace, against which every name a setting gives is checked."""
    user = settings.platform.user
    names = {user: "the platform's user", LOG_READERS: "the platform's log readers' group"}
    names |= {service_user(user, s): f"the service user of {s}" for s in SERVICES}
    defaults = Settings(jobs={})  # every job the deploys make, on a host of every group
    names |= {job.name: "a job the deploy makes" for job in host_jobs(defaults, set(GROUPS))}
    return names


def _generated_name_problems(host: HostView, settings: Settings) -> list[str]:
    """A name in settings that is one the deploys make would merge two accounts or overwrite
    a unit. Directories the platform writes (its four, the backup path, the backups' status
    stamps) may not contain each other: backups would land in live data, or be pruned with it."""
    generated = generated_names(settings)
    given = [
        (f"operators.{i}.name", "operators", op.name) for i, op in enumerate(settings.operators)
    ]
    given += [(f"jobs.{name}", "jobs", name) for name in settings.jobs]
    problems = [
        f"{host.name}: {host.source(section)}: {key}: is {generated[name]}, a name the deploy "
        "makes itself"
        for key, section, name in given
        if name in generated
    ]
    p = settings.platform
    written = {
        "backup.path": settings.backup.path,
        "platform.base_dir": p.base_dir,
        "platform.config_dir": p.config_dir,
        "platform.log_dir": p.log_dir,
        "platform.state_dir": p.state_dir,
        STATUS_DIR: STATUS_DIR,
    }
    pairs = [(a, b) for i, a in enumerate(written) for b in list(written)[i + 1 :]]
    for a, b in pairs:
        inner, outer = sorted((f"{written[a]}/", f"{written[b]}/"), key=len, reverse=True)
        if inner.startswith(outer):
            problems.append(
                f"{host.name}: {host.source(a.split('.')[0])}: {a}: holds or is "
                f"inside {b}, another directory the platform writes"
            )
    return problems


def _address_problems(host: HostView) -> list[str]:
    """`address` is where other hosts reach this one: a plain, unicast IPv4 address (the
    firewall's sets and pg_hba's /32 rules are IPv4)."""
    where = f"{host.name}: {host.source('address')}: address"
    value = host.get("address")
    try:
        if not isinstance(value, str) or "%" in value:
            raise ValueError
        address = ip_address(value)
    except ValueError:
        return [f"{where}: not an IP address"]
    if address.version != 4 or str(address) != value:
        return [f"{where}: write an IPv4 address as dotted decimal"]
    if address.is_unspecified or address.is_multicast or str(address) == "255.255.255.255":
        return [f"{where}: not a host's address"]
    return []


def group_conflicts(host: HostView) -> list[str]:
    """Two of a host's groups setting one section differently: pyinfra would pick one by the
    order of the inventory's groups, so the run refuses to guess."""
    problems = []
    group_layers = [
        (w, d) for w, d in host.layers if w.startswith("group_data/") and w != "group_data/all.py"
    ]
    for key in SECTIONS:
        setters = [(where, data[key]) for where, data in group_layers if key in data]
        if len({repr(value) for _, value in setters}) > 1 and not any(
            key in data for where, data in host.layers[:2]
        ):
            files = " and ".join(where for where, _ in setters)
            problems.append(
                f"{host.name}: {files}: {key}: set differently in two of its groups; "
                "set it in one place"
            )
    return problems


def cross_host_problems(hosts: list[HostView], settings: Mapping[str, Settings]) -> list[str]:
    """Hosts that must agree on a shared section, or on a secret's reference, but do not."""
    problems = []
    by_name = {h.name: h for h in hosts}
    for section, group in OWNERS.items():
        participants = [h for h in hosts if group in h.groups or h.has(section)]
        dumps = {h.name: getattr(settings[h.name], section) for h in participants}
        dumps = {name: _dump(value) for name, value in dumps.items()}
        if section == "services":  # only app hosts resolve service secrets: compare names
            for services in dumps.values():
                for service in services.values():
                    service["secrets"] = sorted(service["secrets"])
        first = next(iter(dumps), None)
        for name, value in dumps.items():
            if value != dumps[first]:
                key = _first_difference(dumps[first], value, section)
                a, b = by_name[first], by_name[name]
                problems.append(
                    f"{first} ({a.source(section)}) and {name} ({b.source(section)}): {key}: "
                    f"hosts disagree; {section} belongs to group {group} and every host that "
                    "sets it must hold the same value"
                )
                break
    for secret in SECRET_OWNERS:
        refs = {h.name: (h.get("secrets") or {}).get(secret) for h in hosts}
        refs = {name: ref for name, ref in refs.items() if ref is not None}
        if len({repr(ref) for ref in refs.values()}) > 1:
            first, *others = refs
            other = next(n for n in others if refs[n] != refs[first])
            problems.append(
                f"{first} ({by_name[first].source('secrets')}) and {other} "
                f"({by_name[other].source('secrets')}): secrets.{secret}: hosts reference "
                "different sources for one secret"
            )
    addresses: dict[str, str] = {}
    for h in hosts:
        address = str(h.get("address"))
        if address in addresses:
            problems.append(
                f"{addresses[address]} and {h.name} ({h.source('address')}): "
                "address: two hosts with one address"
            )
        addresses[address] = h.name
        reached = sorted(set(h.groups) & set(REACHED_BY_PEERS))
        if len(hosts) > 1 and reached and ip_address(address).is_loopback:
            problems.append(
                f"{h.name}: {h.source('address')}: address: a loopback address, "
                f"which the other hosts cannot reach (they connect to its "
                f"{', '.join(reached)})"
            )
    return problems


def reused_secrets(hosts: list[HostView], settings: Mapping[str, Settings]) -> list[str]:
    """One value serving a platform secret and another secret (a platform secret or a
    service's): whoever may read one holds both, and rotating one leaves the other. Values are
    compared as the hosts resolved them, across the inventory; services may share a value."""
    first: dict[str, str] = {}  # value -> the key that holds it first
    problems = []
    for host in hosts:
        validated = settings[host.name]
        keyed = [(f"secrets.{n}", "secrets", v) for n, v in validated.secrets.items()]
        keyed += [
            (f"services.{name}.secrets.{n}", "services", v)
            for name, service in validated.services.items()
            for n, v in service.secrets.items()
        ]
        for key, section, secret in keyed:
            value = secret.get_secret_value()
            if not value:  # a service secret this host does not resolve
                continue
            other = first.setdefault(value, key)
            problem = (
                f"{host.name}: {host.source(section)}: {key}: must differ from {other} "
                "(one value for two secrets)"
            )
            platform = key.startswith("secrets.") or other.startswith("secrets.")
            if other != key and platform and problem not in problems:
                problems.append(problem)
    return problems


def secret_leaks(hosts: list[HostView], settings: Mapping[str, Settings]) -> list[str]:
    """Settings that hold a secret's value: they land in files anyone may read (unit files,
    configs) and in plans. Secrets go in `secrets`, referenced."""
    values = {
        secret.get_secret_value()
        for validated in settings.values()
        for secret in [
            *validated.secrets.values(),
            *(s for service in validated.services.values() for s in service.secrets.values()),
        ]
        if len(secret.get_secret_value()) >= 8
    }
    problems = []
    for host in hosts:
        dumped = settings[host.name].model_dump(mode="json", exclude={"secrets"})
        for key, text in _strings(dumped):
            if any(value in text for value in values):
                where = host.source(key.split(".")[0])
                problems.append(
                    f"{host.name}: {where}: {key}: holds a secret's value; "
                    "reference secrets in `secrets` only"
                )
    return problems


def _strings(node: Any, prefix: str = "") -> Iterable[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, f"{prefix}.{index}")
    elif isinstance(node, str):
        yield prefix, node


def _dump(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Mapping):
        return {k: _dump(v) for k, v in value.items()}
    return value


def inventory_problems(inventory, inventory_file: str) -> list[str]:
    """Group data for a group this project does not have (a typo would be ignored), and the
    group pyinfra makes of the inventory file's name: it holds every host of the file."""
    stem = Path(inventory_file).stem
    problems = []
    if stem in GROUPS or stem == "all":
        problems.append(
            f"{relative(inventory_file)}: the file is named like the group {stem}, "
            "which pyinfra would put every one of its hosts in; rename it"
        )
    for group, data in sorted(inventory.group_data.items()):
        if data and group == stem:
            problems.append(
                f"group_data/{group}.py: {group}: the group of every host of "
                f"{relative(inventory_file)}; set these in group_data/all.py"
            )
        elif data and group not in GROUPS and group != "all":
            problems.append(
                f"group_data/{group}.py: {group}: no such group (known: {', '.join(GROUPS)})"
            )
    return problems


def validate(hosts: list[HostView], problems: Iterable[str] = ()) -> dict[str, Settings]:
    """Every host's settings, or SettingsError listing every problem of every host."""
    settings: dict[str, Settings] = {}
    problems = list(problems)
    for host in hosts:
        try:
            settings[host.name] = validate_host(host)
        except SettingsError as exc:
            problems += str(exc).splitlines()
    if not problems:
        problems = [
            *cross_host_problems(hosts, settings),
            *cluster.problems(hosts, settings),
            *secret_leaks(hosts, settings),
            *reused_secrets(hosts, settings),
        ]
    if problems:
        raise SettingsError("\n".join(problems))
    return settings


def refusal(error: SettingsError) -> str:
    return "Invalid settings, no host was contacted:\n  " + str(error).replace("\n", "\n  ")
