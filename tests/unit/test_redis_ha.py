"""infra/redis_ha.py: the cluster's logins, derived (pure)."""

import hashlib
import re

import pytest
from pydantic import SecretStr

from infra.redis_ha import (
    CLUSTER_USER_RULES,
    CLUSTER_USERS,
    SENTINEL_MONITOR_RULES,
    cluster_password,
    sentinel_monitor_password,
    sentinel_user_is,
)

SECRET = SecretStr("""s3cret '"$(x)`y`;\\ %h""")


def test_each_cluster_user_has_a_password_of_its_own():
    passwords = {cluster_password(SECRET, user).get_secret_value() for user in CLUSTER_USERS}
    assert len(passwords) == len(CLUSTER_USERS)


def test_a_derived_password_carries_no_config_syntax():
    for user in CLUSTER_USERS:
        assert re.fullmatch(
            r"[A-Za-z0-9_-]{40,}", cluster_password(SECRET, user).get_secret_value()
        )


def test_the_replication_user_may_only_replicate():
    assert CLUSTER_USER_RULES["replication"].split()[-4:] == [
        "-@all",
        "+psync",
        "+replconf",
        "+ping",
    ]


def test_no_cluster_user_may_read_or_write_keys():
    assert all("resetkeys" in rules and "~" not in rules for rules in CLUSTER_USER_RULES.values())


def test_the_redactor_knows_every_derived_cluster_login():
    from tools.redact import cluster_secrets

    found = cluster_secrets({"postgresql_superuser_password": SECRET,
                             "redis_replication_password": SECRET})  # fmt: skip
    assert len(set(found.values())) == 3 + len(CLUSTER_USERS)  # + REST, rewind, Sentinel's


def test_sentinels_monitoring_user_may_change_nothing():
    assert SENTINEL_MONITOR_RULES.split() == [
        "-@all",
        "+ping",
        "+sentinel|get-master-addr-by-name",
        "+sentinel|ckquorum",
    ]


def _user(password: SecretStr, rules: str = SENTINEL_MONITOR_RULES, flags=("on",)) -> dict:
    digest = hashlib.sha256(password.get_secret_value().encode()).hexdigest()
    return {"flags": list(flags), "passwords": [digest], "commands": rules}


def test_sentinels_monitoring_user_is_recognised_as_kept_by_sentinel():
    """Redis lists the rules in its own order: compared as a set."""
    password = sentinel_monitor_password(SECRET)
    reordered = "-@all +ping +sentinel|ckquorum +sentinel|get-master-addr-by-name"
    assert sentinel_user_is(_user(password, reordered), password, SENTINEL_MONITOR_RULES)


@pytest.mark.parametrize(
    "current",
    [
        None,
        _user(SecretStr("rotated-away")),
        _user(sentinel_monitor_password(SECRET), "-@all +ping"),
        _user(sentinel_monitor_password(SECRET), flags=("off",)),
    ],
    ids=["absent", "other password", "other rules", "disabled"],
)
def test_sentinels_monitoring_user_is_set_again_when_it_differs(current):
    password = sentinel_monitor_password(SECRET)
    assert not sentinel_user_is(current, password, SENTINEL_MONITOR_RULES)
