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
    """A shell command running `sql` as postgres, only when the cluster accepts connections
    (else no output): started by its own unit or by Patroni."""
    query = (
        f"runuser -u postgres -- psql -XAtq -F '|' -d {shlex.quote(database)} -c {shlex.quote(sql)}"
    )
    ready = "pg_isready -q -h /var/run/postgresql >/dev/null 2>&1"
    return f"if {ready}; then {query}; fi"


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


class PostgresqlServiceAccess(FactBase):
    """What is missing for the services' roles in `database` (infra/credentials.py): lines
    like "role X", "owner logs in", "core not a member of the owner", "table X events",
    "default X r SELECT"; empty when everything is granted, ["database"] when it does not exist.

    + owner: the role that owns the database, which cannot log in
    + core: the migrating service's role, a member of `owner`
    + others: the other services' roles: data access only
    """

    default = list

    def command(self, database: str, owner: str, core: str, others: list[str]) -> str:
        roles = ", ".join(f"({sql_literal(r)})" for r in [core, *others])
        rest = ", ".join(f"({sql_literal(r)})" for r in others)
        o, c = sql_literal(owner), sql_literal(core)
        sql = f"""
WITH wanted(r) AS (VALUES {roles}),
     others AS (SELECT rolname AS r, oid FROM pg_roles WHERE rolname IN (VALUES {rest})),
     grantors AS (SELECT rolname AS r, oid FROM pg_roles WHERE rolname IN ({o}, {c})),
     privileges(kind, p) AS (VALUES ('r', 'SELECT'), ('r', 'INSERT'), ('r', 'UPDATE'),
                                    ('r', 'DELETE'), ('S', 'USAGE'), ('S', 'SELECT'))
SELECT 'role ' || r FROM wanted WHERE r NOT IN (SELECT rolname FROM pg_roles)
UNION ALL SELECT 'owner missing' WHERE {o} NOT IN (SELECT rolname FROM pg_roles)
UNION ALL SELECT 'owner logs in' FROM pg_roles WHERE rolname = {o} AND rolcanlogin
UNION ALL SELECT 'core not a member of the owner' FROM pg_roles c, pg_roles w
  WHERE c.rolname = {c} AND w.rolname = {o} AND NOT pg_has_role(c.oid, w.oid, 'MEMBER')
UNION ALL SELECT 'usage ' || r FROM others WHERE NOT has_schema_privilege(oid, 'public', 'USAGE')
UNION ALL SELECT 'table ' || o.r || ' ' || t.relname
  FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public',
       others o, privileges p
  WHERE t.relkind IN ('r', 'p', 'S') AND p.kind = CASE t.relkind WHEN 'S' THEN 'S' ELSE 'r' END
    AND NOT (CASE t.relkind WHEN 'S' THEN has_sequence_privilege(o.oid, t.oid, p.p)
             ELSE has_table_privilege(o.oid, t.oid, p.p) END)
UNION ALL SELECT 'default ' || g.r || ' ' || o.r || ' ' || p.kind || ' ' || p.p
  FROM grantors g, others o, privileges p
  WHERE NOT EXISTS (SELECT FROM pg_default_acl a, aclexplode(a.defaclacl) x
    WHERE a.defaclrole = g.oid AND a.defaclnamespace = 'public'::regnamespace
      AND a.defaclobjtype = p.kind::"char" AND x.grantee = o.oid AND x.privilege_type = p.p)
"""
        exists = psql(f"SELECT 1 FROM pg_database WHERE datname = {sql_literal(database)}")
        missing = psql(" ".join(sql.split()), database)
        return f'if [ "$({exists})" = 1 ]; then {missing}; else echo database; fi'

    def process(self, output: list[str]) -> list[str]:
        return sorted(line for line in output if line)
