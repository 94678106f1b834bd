"""`redis`: the cache on the cache hosts (memory, persistence, the app's and admin's ACL)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from infra.settings.types import USERNAME, Size, Strict, words

ACL_PATTERN = re.compile(r"^[A-Za-z0-9:_.*?\[\]{}-]+$")
# What the app user may be granted; the ACL always ends with -@admin -@dangerous besides.
APP_CATEGORIES = words(
    "@read @write @pubsub @transaction @connection @keyspace @string @hash @list @set",
    "@sortedset @stream @bitmap @hyperloglog @geo @fast @slow @scripting",
)
DANGEROUS = words(
    "acl bgrewriteaof bgsave client cluster config debug failover flushall flushdb info keys",
    "lastsave latency memory migrate module monitor psync replconf replicaof restore role save",
    "shutdown slaveof slowlog sort swapdb sync",
)
SAVE_POINT = re.compile(r"^[1-9][0-9]* [1-9][0-9]*$")
ACL_RULE = re.compile(r"^[+-](@[a-z]+|[a-z|]+)$")


# ACL users the deploys make themselves (the agent's; a cluster's replication, Sentinel, HAProxy).
RESERVED_USERS = frozenset({"default", "zabbix", "replication", "sentinel", "haproxy"})


class Redis(Strict):
    maxmemory_fraction: float = Field(
        0.5, gt=0, le=0.9, description="share of the host's effective memory for data"
    )
    maxmemory_cap: Size | None = Field(
        "1G", description="upper bound for maxmemory (seed 001: 1gb); none for no cap"
    )
    maxmemory_policy: Literal[
        "allkeys-lru", "allkeys-lfu", "volatile-lru", "volatile-lfu", "noeviction"
    ] = Field("allkeys-lru", description="eviction policy (seed 001)")
    save: list[str] = Field(
        default=["900 1", "300 10", "60 10000"], description="RDB snapshot points (seed 001)"
    )
    appendonly: bool = Field(False, description="AOF persistence in addition to RDB snapshots")
    app_user: str = Field("aktienanalyse", description="ACL user of the services")
    app_key_patterns: list[str] = Field(
        default=[
            "market:*",
            "portfolio:*",
            "user:*",
            "session:*",
            "ratelimit:*",
            "calc:*",
            "api:*",
            "events:*",
            "health:*",
        ],
        description="key patterns the app user may touch (the seeds' cache keys)",
    )
    app_channel_patterns: list[str] = Field(
        default=["events:*"], description="pub/sub channels the app user may use"
    )
    app_commands: list[str] = Field(
        default=["+@read", "+@write", "+@pubsub", "+@transaction", "+@connection", "-@dangerous"],
        description="command categories of the app user, in order",
    )
    admin_user: str = Field("admin", description="ACL user with every right, for operators")
    sentinel_quorum: int = Field(
        2, ge=1, description="Sentinels that must agree a master is down (a majority of them)"
    )
    down_after_ms: int = Field(
        5000, ge=1000, le=60000, description="Sentinel: a master silent this long is down"
    )
    failover_timeout_ms: int = Field(
        10000, ge=3000, le=600000, description="Sentinel: time for one failover attempt"
    )

    @field_validator("save")
    @classmethod
    def _save_points(cls, value: list[str]) -> list[str]:
        for point in value:
            if not SAVE_POINT.fullmatch(point):
                raise ValueError("a save point is not '<seconds> <changes>'")
        return value

    @field_validator("app_user", "admin_user")
    @classmethod
    def _user_name(cls, value: str) -> str:
        if not USERNAME.fullmatch(value) or value in RESERVED_USERS:
            raise ValueError(
                f"not a usable ACL user name ({', '.join(sorted(RESERVED_USERS))} are taken)"
            )
        return value

    @field_validator("app_key_patterns", "app_channel_patterns")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            if not ACL_PATTERN.fullmatch(pattern):
                raise ValueError(
                    "a pattern is empty or has characters other than letters, digits and :_.-*?[]{}"
                )
        return value

    @field_validator("app_commands")
    @classmethod
    def _acl_rules(cls, value: list[str]) -> list[str]:
        for rule in value:
            if not ACL_RULE.fullmatch(rule):
                raise ValueError("a rule is not an ACL command rule like +@read or -flushall")
            if rule.startswith("+") and (
                rule[1:] not in APP_CATEGORIES if rule[1] == "@" else rule[1:] in DANGEROUS
            ):
                raise ValueError(
                    "grants more than the app may have: categories "
                    f"{', '.join(sorted(APP_CATEGORIES))}, or single commands outside "
                    "@admin and @dangerous"
                )
        return value
