"""Facts of the Zabbix server's database on a monitoring host (deploys/monitoring.py)."""

from __future__ import annotations

from pyinfra.api import FactBase

from facts.postgresql import UNIT

_AS_POSTGRES = "runuser -u postgres -- psql -XAtq"


class ZabbixDatabase(FactBase):
    """{"database": the zabbix database exists, "schema": its tables are there,
    "admin_hash": the frontend's Admin password hash or None}; all empty while PostgreSQL is
    not running (the first converge gathers facts before installing it)."""

    @staticmethod
    def default() -> dict:
        return {"database": False, "schema": False, "admin_hash": None}

    def command(self) -> str:
        exists = "SELECT 1 FROM pg_database WHERE datname = 'zabbix'"
        schema = "SELECT to_regclass('public.users') IS NOT NULL"
        admin = "SELECT 'admin:' || passwd FROM users WHERE username = 'Admin'"
        return (
            f"if systemctl is-active --quiet {UNIT} "
            f'&& {_AS_POSTGRES} -c "{exists}" | grep -qx 1; then echo database; '
            f'if {_AS_POSTGRES} -d zabbix -c "{schema}" | grep -qx t; then echo schema; '
            f'{_AS_POSTGRES} -d zabbix -c "{admin}"; fi; fi'
        )

    def process(self, output: list[str]) -> dict:
        hashes = [line.removeprefix("admin:") for line in output if line.startswith("admin:")]
        return {
            "database": "database" in output,
            "schema": "schema" in output,
            "admin_hash": hashes[0] if hashes else None,
        }
