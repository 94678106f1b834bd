"""Secrets out of what the tools print: every secret value of an inventory, and forms derived
from it, replaced by `[secret NAME]` (tools/plan.py, tools/apply.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from infra.credentials import service_password
from infra.settings import SERVICES
from infra.zabbix_items import redis_monitor_password

# Each service's own password is derived from these (infra/credentials.py).
DERIVED_FROM = {"postgresql_app_password": "postgresql", "redis_app_password": "redis"}


class Redactor:
    """Replaces every secret value (and derived form) in a text by `[secret NAME]`."""

    def __init__(self, secrets: Mapping[str, str]):
        tokens: dict[str, str] = {}
        for name, value in secrets.items():
            if not value:
                continue
            label = f"[secret {name}]"
            tokens[value] = label
            tokens[hashlib.sha256(value.encode()).hexdigest()] = label
            for line in value.splitlines():  # a PEM's lines, should a diff split it
                line = line.strip()
                if len(line) >= 16 and not line.startswith("-----"):
                    tokens[line] = label
        # Longest first, so a secret that contains another is replaced whole.
        self._tokens = sorted(tokens.items(), key=lambda item: -len(item[0]))

    def __call__(self, text: str) -> str:
        for token, label in self._tokens:
            text = text.replace(token, label)
        return text


def cluster_secrets(secrets: Mapping) -> dict[str, str]:
    """The logins a cluster derives (infra/patroni.py, infra/redis_ha.py), by name."""
    from infra.redis_ha import CLUSTER_USERS, cluster_password, sentinel_monitor_password

    found = {}
    superuser = secrets.get("postgresql_superuser_password")
    if superuser and superuser.get_secret_value():
        rest = service_password(superuser, "patroni", "rest").get_secret_value()
        found["Patroni REST password (derived)"] = rest
        rewind = service_password(superuser, "patroni", "rewind").get_secret_value()
        found["pg_rewind password (derived)"] = rewind
    replication = secrets.get("redis_replication_password")
    if replication and replication.get_secret_value():
        for user in CLUSTER_USERS:
            derived = cluster_password(replication, user).get_secret_value()
            found[f"Redis {user} password (derived)"] = derived
        monitor = sentinel_monitor_password(replication).get_secret_value()
        found["Sentinel zabbix password (derived)"] = monitor
    return found


def inventory_secrets(hosts: Mapping) -> dict[str, str]:
    """name → value of every secret the hosts have; one per value where hosts differ."""
    secrets: dict[str, str] = {}
    for host in hosts.values():
        own = {**host.settings.secrets}
        for service, settings in host.settings.services.items():
            own |= {f"services.{service}.secrets.{k}": v for k, v in settings.secrets.items()}
        for name, value in own.items():
            value = value.get_secret_value()
            if not value:  # a service secret another group's host does not resolve
                continue
            secrets[name if secrets.get(name, value) == value else f"{name} ({host.name})"] = value
        for name, store in DERIVED_FROM.items():
            master = host.settings.secrets.get(name)
            if master and master.get_secret_value():
                for service in SERVICES:
                    derived = service_password(master, store, service).get_secret_value()
                    secrets[f"{store} password of {service} (derived)"] = derived
        secrets |= cluster_secrets(host.settings.secrets)
        admin = host.settings.secrets.get("redis_admin_password")
        if admin and admin.get_secret_value():  # the agent's, derived from it (infra/zabbix_items)
            secrets["redis monitor password (derived)"] = redis_monitor_password(
                admin
            ).get_secret_value()
    return secrets
