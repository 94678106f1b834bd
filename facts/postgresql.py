"""Facts read from the running PostgreSQL cluster, as the postgres user.

Each returns its empty value while the cluster is not installed or not running (the first
converge gathers facts before it installs PostgreSQL).
"""

from __future__ import annotations

import shlex

from pyinfra.api import FactBase

UNIT = "postgresql@15-main"


def sql_literal(value: str) -> str:
    """A SQL string literal (quotes doubled); the shell quoting is psql()'s."""
    return "'" + value.replace("'", "''") + "'"


def psql(sql: str, database: str = "postgres") -> str:
    """A shell command running `sql` as postgres, only when the cluster is up (else no output)."""
    query = (
        f"runuser -u postgres -- psql -XAtq -F '|' -d {shlex.quote(database)} -c {shlex.quote(sql)}"
    )
    return f"if systemctl is-active --quiet {UNIT}; then {query}; fi"


class PostgresqlRuntime(FactBase):
    """{"restart_only": names of postmaster-context parameters, "pending_restart": names}."""

    @staticmethod
    def default() -> dict:
        return {"restart_only": set(), "pending_restart": set()}

    def command(self) -> str:
        return psql("SELECT name, context, pending_restart FROM pg_settings")

    def process(self, output: list[str]) -> dict:
        rows = [line.split("|") for line in output if line.count("|") == 2]
        return {
            "restart_only": {name for name, context, _ in rows if context == "postmaster"},
            "pending_restart": {name for name, _, pending in rows if pending == "t"},
        }


class PostgresqlRoleVerifier(FactBase):
    """The stored SCRAM verifier of a role (pg_authid.rolpassword), or None."""

    def command(self, role: str) -> str:
        return psql(f"SELECT rolpassword FROM pg_authid WHERE rolname = {sql_literal(role)}")

    def process(self, output: list[str]) -> str | None:
        return output[0] if output and output[0] else None


class PostgresqlExtensions(FactBase):
    """Names of the extensions installed in `database` (empty if it does not exist yet)."""

    default = list

    def command(self, database: str) -> str:
        exists = psql(f"SELECT 1 FROM pg_database WHERE datname = {sql_literal(database)}")
        extensions = psql("SELECT extname FROM pg_extension", database)
        return f'if [ "$({exists})" = 1 ]; then {extensions}; fi'

    def process(self, output: list[str]) -> list[str]:
        return sorted(line for line in output if line)


class PostgresqlMonitoringRole(FactBase):
    """How far the role `role` exists: "member" (of pg_monitor), "role" (not a member), or
    None (no such role, or the cluster is not running)."""

    def command(self, role: str) -> str:
        return psql(
            "SELECT rolname, pg_has_role(rolname, 'pg_monitor', 'member') FROM pg_roles "
            f"WHERE rolname = {sql_literal(role)}"
        )

    def process(self, output: list[str]) -> str | None:
        rows = [line.split("|") for line in output if line.count("|") == 1]
        if not rows:
            return None
        return "member" if rows[0][1] == "t" else "role"
