"""Fail when a test run's output holds one of the lab's secrets.

    python -m tests.leak_check .lab/logs/*.log

Looks for each secret under .lab/secrets/ and .lab/service-secrets/, its SHA-256 (the Redis
ACL form), each long line of the PEM, the Zabbix agent's Redis password derived from the
admin password and each service's own passwords (infra/credentials.py). Names the file and
the secret, never the value.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from pydantic import SecretStr

from infra.credentials import service_password
from infra.settings import START_ORDER
from infra.zabbix_items import redis_monitor_password
from lab.topology import LAB_DIR
from tools.redact import cluster_secrets


def forms(value: str) -> list[str]:
    lines = [line for line in value.splitlines() if len(line) >= 16 and "-----" not in line]
    return [value, hashlib.sha256(value.encode()).hexdigest(), *lines]


def main(paths: list[str]) -> int:
    files = [*(LAB_DIR / "secrets").iterdir(), *(LAB_DIR / "service-secrets").glob("*")]
    secrets = {p.name: forms(p.read_text().strip()) for p in files}
    admin = LAB_DIR / "secrets" / "redis_admin_password"
    if admin.exists():
        derived = redis_monitor_password(SecretStr(admin.read_text().strip()))
        secrets["the agent's Redis password"] = forms(derived.get_secret_value())
    for store, master in (
        ("postgresql", "postgresql_app_password"),
        ("redis", "redis_app_password"),
    ):
        source = LAB_DIR / "secrets" / master
        for service in START_ORDER if source.exists() else ():
            derived = service_password(SecretStr(source.read_text().strip()), store, service)
            secrets[f"{service}'s {store} password"] = forms(derived.get_secret_value())
    lab_secrets = {p.name: SecretStr(p.read_text().strip()) for p in files}
    secrets |= {name: forms(value) for name, value in cluster_secrets(lab_secrets).items()}
    found = []
    for path in paths:
        text = Path(path).read_text(errors="replace")
        found += [f"{path}: {name}" for name, values in secrets.items()
                  if any(v in text for v in values)]  # fmt: skip
    for line in found:
        print(f"secret in test output: {line}", file=sys.stderr)
    print(f"leak check: {len(paths)} log(s), {len(secrets)} secret(s), {len(found)} found")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
