"""infra/redis_ha.py: the cluster's logins, derived (pure)."""

import re

from pydantic import SecretStr

from infra.redis_ha import CLUSTER_USER_RULES, CLUSTER_USERS, cluster_password

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
    assert len(set(found.values())) == 1 + len(CLUSTER_USERS)
