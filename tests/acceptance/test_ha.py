"""The ha topology as converged: a Patroni cluster on data-1 and data-2, etcd on three hosts,
the services reaching the primary through HAProxy, every cluster port closed to outsiders."""

import json
import shlex

import pytest

from tests.acceptance import lab
from tests.acceptance.growth import RECORD, system_identifier

pytestmark = [
    pytest.mark.ha,
    pytest.mark.skipif(lab.TOPOLOGY != "ha", reason="the clusters of topology ha"),
]

DB = lab.names("db")
ETCD = [*DB, *lab.names("voter")]
LB = lab.names("lb")[0]
APP = lab.names("app")[0]
PATRONICTL = "patronictl -c /etc/patroni/15-main.yml"
grown = pytest.mark.skipif(
    not RECORD.exists(), reason="the lab did not grow from one db host (make acceptance)"
)


def members() -> list[dict]:
    """`patronictl list` as JSON: one entry per member (Member, Role, State, TL, Lag in MB)."""
    return json.loads(lab.ssh(DB[0], f"{PATRONICTL} list -f json").stdout)


def leader() -> str:
    return next(m["Member"] for m in members() if m["Role"] == "Leader")


def master() -> str:
    return next(n for n in lab.names("cache") if replication(n).get("role") == "master")


def test_the_cluster_has_one_leader():
    assert [m["Member"] for m in members() if m["Role"] == "Leader"] in ([DB[0]], [DB[1]])


def test_the_other_member_is_the_synchronous_standby():
    assert [m["Role"] for m in members() if m["Role"] != "Leader"] == ["Sync Standby"]


def test_every_member_runs():  # Patroni 3.0.2 says "running" for a streaming standby too
    assert {m["State"] for m in members()} == {"running"}


def test_both_members_are_on_one_timeline():
    assert len({m["TL"] for m in members()}) == 1


def test_etcd_has_three_healthy_members():
    result = lab.ssh(DB[0], "etcdctl endpoint health --cluster -w json")
    assert [e["health"] for e in json.loads(result.stdout)] == [True] * len(ETCD)


@pytest.mark.parametrize("name", DB)
def test_the_plain_unit_does_not_start_postgresql(name):
    assert lab.ssh(name, "cat /etc/postgresql/15/main/start.conf").stdout.strip() == "manual"


@pytest.mark.parametrize("name", DB)
def test_the_patroni_configuration_is_readable_by_postgres_only(name):
    mode = lab.ssh(name, "stat -c '%U:%G %a' /etc/patroni/15-main.yml").stdout.strip()
    assert mode == "root:postgres 640"


def test_the_services_reach_postgresql_through_haproxy():
    env = lab.ssh(APP, "grep -h '^AKTIENANALYSE_DB_HOST=' /etc/aktienanalyse/production.env")
    assert env.stdout.strip().strip("'\"").endswith(lab.host_info(LB)["address"])


def test_haproxy_sends_connections_to_the_leader_only():
    stat = lab.ssh(LB, "echo 'show stat' | socat stdio /run/haproxy/admin.sock").stdout
    up = [line.split(",")[1] for line in stat.splitlines() if line.startswith("postgresql,data-")
          and line.split(",")[17] == "UP"]  # fmt: skip
    assert up == [m["Member"] for m in members() if m["Role"] == "Leader"]


@pytest.mark.parametrize("port", [2379, 2380, 5432, 8008])
def test_an_app_host_cannot_reach_a_cluster_port_directly(port):
    assert lab.tcp_connect(APP, lab.host_info(DB[0])["address"], port).returncode != 0


def test_a_voter_cannot_reach_postgresql():
    voter = lab.names("voter")[0]
    assert lab.tcp_connect(voter, lab.host_info(DB[0])["address"], 5432).returncode != 0


def test_the_standby_reaches_the_primarys_postgresql():
    assert lab.tcp_connect(DB[1], lab.host_info(DB[0])["address"], 5432).returncode == 0


def on_the_leader(query: str) -> str:
    name = leader()
    return lab.ssh(
        name, f"runuser -u postgres -- psql -XAtq -c {shlex.quote(query)}"
    ).stdout.strip()


def test_the_superuser_cannot_log_in_from_a_peer():
    """pg_hba: postgres over the network is rejected (its last rules) before any password."""
    other = next(name for name in DB if name != leader())
    target = lab.host_info(leader())["address"]
    result = lab.ssh(other, f"psql -w 'host={target} user=postgres dbname=postgres' -c 'SELECT 1'")
    assert "pg_hba.conf rejects connection" in result.stderr


def test_pg_rewind_logs_in_as_a_role_that_is_no_superuser():
    assert (
        on_the_leader(
            "SELECT rolsuper, rolreplication, rolcreaterole FROM pg_roles WHERE rolname = 'rewind'"
        )
        == "f|f|f"
    )


@pytest.mark.parametrize(
    ("function", "allowed"),
    [
        ("pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean)", "t"),
        ("pg_catalog.pg_ls_dir(text, boolean, boolean)", "t"),
        ("pg_catalog.pg_read_file(text)", "f"),
        ("pg_catalog.pg_reload_conf()", "f"),
    ],
)
def test_the_rewind_role_may_run_pg_rewinds_functions_only(function, allowed):
    query = f"SELECT has_function_privilege('rewind', '{function}', 'EXECUTE')"
    assert on_the_leader(query) == allowed


def test_patronis_api_refuses_a_change_without_its_password():
    result = lab.ssh(
        LB,
        f"curl -s -o /dev/null -w '%{{http_code}}' -X PATCH -d '{{}}' "
        f"http://{lab.host_info(DB[0])['address']}:8008/config",
    )
    assert result.stdout.strip() == "401"


def growth() -> dict:
    return json.loads(RECORD.read_text())


@grown
@pytest.mark.parametrize("name", DB)
def test_growth_kept_the_clusters_system_identifier(name):
    assert system_identifier(name) == growth()["sysid"]


@grown
@pytest.mark.parametrize("name", DB)
def test_growth_kept_the_data_written_before_it(name):
    result = lab.ssh(
        name,
        "runuser -u postgres -- psql -XAtq -d aktienanalyse_event_store "
        "-c 'SELECT marker FROM growth_marker'",
    )
    assert growth()["marker"] in result.stdout.split()


# Redis under Sentinel: the cluster's logins are derived from the lab's replication secret.
CACHE = lab.names("cache")
SENTINELS = [*CACHE, *lab.names("voter")]


def sentinel_password() -> str:
    from pydantic import SecretStr

    from infra.redis_ha import cluster_password

    secret = SecretStr(lab.secret("redis_replication_password"))
    return cluster_password(secret, "sentinel").get_secret_value()


def ask_sentinel(name: str, command: str) -> str:
    result = lab.ssh(
        name,
        "read -r REDISCLI_AUTH; export REDISCLI_AUTH; "
        f"redis-cli --no-auth-warning --user sentinel -p 26379 {command}",
        stdin=sentinel_password(),
    )
    return result.stdout.strip()


def replication(name: str) -> dict[str, str]:
    """INFO replication of `name`'s Redis, as the agent's user."""
    info = lab.ssh(
        name,
        'REDISCLI_AUTH="$(cat /etc/zabbix/aktienanalyse-redis.pass)" '
        "redis-cli --no-auth-warning --user zabbix INFO replication",
    ).stdout
    return dict(line.strip().split(":", 1) for line in info.splitlines() if ":" in line)


def test_redis_has_one_master():
    assert sorted(replication(name)["role"] for name in CACHE) == ["master", "slave"]


def test_the_redis_replica_is_linked_to_its_master():
    replica = next(n for n in CACHE if replication(n)["role"] == "slave")
    assert replication(replica)["master_link_status"] == "up"


def test_every_sentinel_names_the_same_master():
    answers = {name: ask_sentinel(name, "SENTINEL get-master-addr-by-name aktienanalyse")
               for name in SENTINELS}  # fmt: skip
    master = next(n for n in CACHE if replication(n)["role"] == "master")
    assert set(answers.values()) == {f"{lab.host_info(master)['address']}\n6379"}


def test_the_sentinels_have_their_quorum():
    assert ask_sentinel(SENTINELS[0], "SENTINEL ckquorum aktienanalyse").startswith("OK 3 usable")


def test_a_sentinel_refuses_a_client_without_its_password():
    result = lab.ssh(SENTINELS[0], "redis-cli -p 26379 SENTINEL masters")
    assert "NOAUTH" in result.stdout + result.stderr


def test_haproxy_sends_redis_connections_to_the_master_only():
    stat = lab.ssh(LB, "echo 'show stat' | socat stdio /run/haproxy/admin.sock").stdout
    up = [line.split(",")[1] for line in stat.splitlines() if line.startswith("redis,data-")
          and line.split(",")[17] == "UP"]  # fmt: skip
    assert up == [n for n in CACHE if replication(n)["role"] == "master"]


def test_the_services_reach_redis_through_haproxy():
    env = lab.ssh(APP, "grep -h '^AKTIENANALYSE_REDIS_HOST=' /etc/aktienanalyse/production.env")
    assert env.stdout.strip().strip("'\"").endswith(lab.host_info(LB)["address"])


@pytest.mark.parametrize("port", [6379, 26379])
def test_an_app_host_cannot_reach_redis_or_sentinel_directly(port):
    assert lab.tcp_connect(APP, lab.host_info(CACHE[0])["address"], port).returncode != 0


def test_the_haproxy_check_password_is_roots_alone():
    mode = lab.ssh(LB, "stat -c '%U:%G %a' /etc/haproxy/aktienanalyse-redis-check.env").stdout
    assert mode.strip() == "root:root 600"


@pytest.mark.parametrize("user", ["redis", "zabbix", "nobody"])
def test_a_local_account_cannot_reach_etcd(user):  # it could write Patroni's keys
    command = "timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/2379'"
    assert lab.ssh(DB[0], f"runuser -u {user} -- {command}").returncode != 0


def test_patroni_reaches_etcd_as_postgres():
    command = "timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/2379'"
    assert lab.ssh(DB[0], f"runuser -u postgres -- {command}").returncode == 0


def test_monitoring_asks_etcds_health_on_its_own_port():
    result = lab.ssh(
        DB[0], "runuser -u zabbix -- curl -fsS --max-time 3 http://127.0.0.1:2381/health"
    )
    assert '"health":"true"' in result.stdout


def test_the_primarys_jobs_skip_themselves_on_the_standby():
    from infra.jobs import ON_THE_PRIMARY

    standby = next(m["Member"] for m in members() if m["Role"] != "Leader")
    condition = " ".join(shlex.quote(word) for word in ON_THE_PRIMARY)
    assert lab.ssh(standby, f"runuser -u postgres -- {condition}").returncode == 1


def test_the_primarys_jobs_run_on_the_primary():
    from infra.jobs import ON_THE_PRIMARY

    condition = " ".join(shlex.quote(word) for word in ON_THE_PRIMARY)
    assert lab.ssh(leader(), f"runuser -u postgres -- {condition}").returncode == 0
