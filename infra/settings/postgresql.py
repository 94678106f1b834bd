"""`postgresql`: the database cluster on the db hosts (tuning, the app's role, databases)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator

from infra.settings.types import Strict, Text, words

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
PG_PARAMETER = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)?$")
# Set by deploys/postgresql.py itself; an override would break access or the platform.
PG_MANAGED = words(
    "listen_addresses port password_encryption hba_file data_directory config_file",
    "ident_file include include_dir shared_preload_libraries max_connections",
)
# What `postgresql.overrides` may set: tuning, timeouts, logging to the journal, statistics.
# An allow-list: anything else (loading code, running commands, files, security switches,
# replication, features a container lacks such as huge pages) is refused. Not log_statement:
# it would log the SQL that sets passwords.
PG_OVERRIDABLE = words(
    # memory and planner
    "shared_buffers work_mem maintenance_work_mem autovacuum_work_mem logical_decoding_work_mem",
    "temp_buffers effective_cache_size hash_mem_multiplier wal_buffers temp_file_limit",
    "random_page_cost seq_page_cost cpu_tuple_cost cpu_index_tuple_cost cpu_operator_cost",
    "effective_io_concurrency maintenance_io_concurrency default_statistics_target jit",
    "jit_above_cost jit_inline_above_cost jit_optimize_above_cost from_collapse_limit",
    "join_collapse_limit geqo geqo_threshold plan_cache_mode",
    # parallelism
    "max_worker_processes max_parallel_workers max_parallel_workers_per_gather",
    "max_parallel_maintenance_workers parallel_leader_participation",
    # WAL, checkpoints, background writer, vacuum
    "min_wal_size max_wal_size checkpoint_timeout checkpoint_completion_target",
    "checkpoint_warning wal_compression wal_writer_delay wal_writer_flush_after commit_delay",
    "commit_siblings wal_keep_size bgwriter_delay bgwriter_lru_maxpages bgwriter_lru_multiplier",
    "bgwriter_flush_after vacuum_cost_delay vacuum_cost_limit vacuum_cost_page_hit",
    "vacuum_cost_page_miss vacuum_cost_page_dirty vacuum_freeze_min_age vacuum_freeze_table_age",
    "autovacuum autovacuum_max_workers autovacuum_naptime autovacuum_vacuum_threshold",
    "autovacuum_vacuum_insert_threshold autovacuum_analyze_threshold",
    "autovacuum_vacuum_scale_factor autovacuum_vacuum_insert_scale_factor",
    "autovacuum_analyze_scale_factor autovacuum_freeze_max_age autovacuum_vacuum_cost_delay",
    "autovacuum_vacuum_cost_limit",
    # timeouts and locks
    "statement_timeout lock_timeout idle_in_transaction_session_timeout idle_session_timeout",
    "deadlock_timeout max_locks_per_transaction tcp_keepalives_idle tcp_keepalives_interval",
    "tcp_keepalives_count",
    # logging (to the journal, as Debian's cluster does) and statistics
    "log_min_duration_statement log_checkpoints log_connections log_disconnections",
    "log_lock_waits log_temp_files log_autovacuum_min_duration log_min_messages",
    "log_min_error_statement log_line_prefix track_io_timing track_functions",
    "track_activity_query_size pg_stat_statements.max pg_stat_statements.track",
    "pg_stat_statements.track_utility",
    # session defaults
    "default_transaction_isolation timezone datestyle intervalstyle default_text_search_config",
)
# Roles and databases the cluster itself owns (zabbix: the agent's read-only monitoring role).
PG_RESERVED = frozenset({"postgres", "template0", "template1", "zabbix"})


class PostgreSQL(Strict):
    max_connections: int = Field(100, ge=10, le=5000, description="max_connections; sizes work_mem")
    storage: Literal["ssd", "hdd"] = Field(
        "ssd", description="storage profile: random_page_cost, effective_io_concurrency"
    )
    overrides: dict[str, Text | int | float] = Field(
        default={},
        description="postgresql.conf values that replace the computed ones, "
        "e.g. {'work_mem': '8MB'}",
    )
    app_role: str = Field("stock_analysis", description="the application's login role (seed 003)")
    databases: list[str] = Field(
        default=["aktienanalyse_event_store"], description="databases owned by the app role"
    )
    extensions: list[str] = Field(
        default=["pg_stat_statements"], description="extensions created in each database"
    )

    @field_validator("overrides")
    @classmethod
    def _parameter_names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            if not PG_PARAMETER.fullmatch(name):
                raise ValueError("a name is not a PostgreSQL parameter name")
            if name in PG_MANAGED:
                raise ValueError(
                    f"{name} is set by the deploy (or its own setting), not overridable"
                )
            if name not in PG_OVERRIDABLE:
                raise ValueError(
                    f"{name} is not among the parameters an override may set (tuning, "
                    "timeouts, logging, statistics: infra/settings/postgresql.py "
                    "PG_OVERRIDABLE); others run commands, load code or weaken security"
                )
        return value

    @field_validator("app_role", "databases", "extensions")
    @classmethod
    def _identifiers(cls, value: str | list[str]) -> str | list[str]:
        for name in [value] if isinstance(value, str) else value:
            if not IDENTIFIER.fullmatch(name):
                raise ValueError("not a lower-case SQL identifier")
            if name in PG_RESERVED or (name.startswith("pg_") and not isinstance(value, list)):
                raise ValueError("names a role or database the cluster itself owns")
        return value
