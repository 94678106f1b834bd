"""infra/cluster.py: what two db hosts need before any host is contacted (issue 28, item 6)."""

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.hazmat.primitives.serialization import PublicFormat as _Format

from infra.cluster import Cluster
from tests.unit.test_settings import load, problem, tree  # noqa: F401 (the fixture)

MACHINE = {"machine": {"memory": "2048M", "cpus": 1}}
CLUSTER_SECRETS = {
    "postgresql_superuser_password": {"env": "T_PG_SUPER"},
    "postgresql_replication_password": {"env": "T_PG_REPL"},
}
HOSTS = {"data-1": ["db"], "data-2": ["db"], "mon-1": ["voter", "backup"]}


@pytest.fixture
def cluster_tree(tree, monkeypatch):  # noqa: F811
    monkeypatch.setenv("T_PG_SUPER", "s3cret-superuser-long-enough")
    monkeypatch.setenv("T_PG_REPL", "s3cret-replication-long-enough")
    with_secrets(tree, CLUSTER_SECRETS)
    return tree


def with_secrets(folder, secrets: dict) -> None:
    all_py = folder / "group_data" / "all.py"
    all_py.write_text(all_py.read_text() + f"secrets.update({secrets!r})\n")


def data(**overrides):
    return {name: {**MACHINE, **overrides.get(name, {})} for name in HOSTS}


def test_one_db_host_is_no_cluster():
    cluster = Cluster.of({"node-1": ["lb", "app", "db", "cache"]})
    assert not cluster.postgresql and cluster.etcd_members == ()


def test_two_db_hosts_and_a_voter_make_three_etcd_members():
    cluster = Cluster.of(HOSTS | {"app-1": ["app"]})
    assert cluster.postgresql and cluster.etcd_members == ("data-1", "data-2", "mon-1")


def test_a_valid_cluster_loads(cluster_tree):
    loaded = load(cluster_tree, hosts=HOSTS, data=data())
    assert loaded["data-2"].settings.machine.memory == "2048M"


def test_two_members_without_a_voter_are_refused(cluster_tree):
    hosts = {"data-1": ["db"], "data-2": ["db"]}
    message = problem(cluster_tree, None, "", hosts=hosts, data=data())
    assert "t.py (host data-1): groups: etcd would have 2 members (2 db, 0 voter)" in message


def test_four_members_are_refused(cluster_tree):
    hosts = HOSTS | {"mon-2": ["voter"]}
    message = problem(cluster_tree, None, "", hosts=hosts, data=data())
    assert "etcd would have 4 members" in message


def test_a_voter_on_a_db_host_is_refused(cluster_tree):
    hosts = {"data-1": ["db", "voter"], "data-2": ["db"], "mon-1": ["voter"]}
    message = problem(cluster_tree, None, "", hosts=hosts, data=data())
    assert "t.py (host data-1): groups: a voter that is also a db or cache host" in message


@pytest.mark.parametrize("secret", sorted(CLUSTER_SECRETS))
def test_a_cluster_without_its_secret_is_refused(tree, monkeypatch, secret):  # noqa: F811
    monkeypatch.setenv("T_PG_SUPER", "s3cret-superuser-long-enough")
    monkeypatch.setenv("T_PG_REPL", "s3cret-replication-long-enough")
    with_secrets(tree, {k: v for k, v in CLUSTER_SECRETS.items() if k != secret})
    message = problem(tree, None, "", hosts=HOSTS, data=data())
    assert (
        f"data-1: group_data/all.py: secrets.{secret}: required when 2 db hosts form a cluster"
        in message
    )


def test_members_tuned_apart_are_refused_without_showing_the_values(cluster_tree):
    overrides = data(**{"data-2": {"machine": {"memory": "4096M", "cpus": 1}}})
    message = problem(cluster_tree, None, "", hosts=HOSTS, data=overrides)
    assert "t.py (host data-2): machine.memory: differs from data-1's; a cluster has one" in message
    assert "4096" not in message


def test_a_member_without_its_limits_is_refused(cluster_tree):
    overrides = data() | {"data-1": {}}
    message = problem(cluster_tree, None, "", hosts=HOSTS, data=overrides)
    assert "t.py (host data-1): machine.memory: required on a cluster member" in message
    assert "t.py (host data-1): machine.cpus: required on a cluster member" in message


def test_a_standby_on_its_primarys_machine_is_refused(cluster_tree):
    same = {"ssh_hostname": "10.9.9.9"}
    overrides = data(**{"data-1": same, "data-2": same})
    message = problem(cluster_tree, None, "", hosts=HOSTS, data=overrides)
    assert "t.py (host data-2): ssh_hostname: the same machine as data-1" in message


PRODUCTION_SECRETS = {
    "AKTIENANALYSE_POSTGRESQL_APP_PASSWORD": "s3cret-app-long-enough",
    "AKTIENANALYSE_PGBACKREST_CIPHER_PASS": "s3cret-cipher-long-enough",
    "AKTIENANALYSE_REDIS_APP_PASSWORD": "s3cret-redis-long-enough",
    "AKTIENANALYSE_REDIS_ADMIN_PASSWORD": "s3cret-redis-admin-long-enough",
}


@pytest.fixture
def production_env(monkeypatch):
    from tests.unit.test_settings import PEM

    for name, value in PRODUCTION_SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AKTIENANALYSE_HAPROXY_TLS_PEM", PEM)
    key = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.OpenSSH, _Format.OpenSSH)
    monkeypatch.setenv("AKTIENANALYSE_DEPLOY_PUBLIC_KEY", key.decode())
    return monkeypatch


def test_the_example_ha_inventory_is_a_valid_cluster(production_env):
    from infra.hostdata import load_inventory

    production_env.setenv("AKTIENANALYSE_POSTGRESQL_SUPERUSER_PASSWORD", "s3cret-superuser-pw")
    production_env.setenv("AKTIENANALYSE_POSTGRESQL_REPLICATION_PASSWORD", "s3cret-replica-pw")
    production_env.setenv("AKTIENANALYSE_REDIS_REPLICATION_PASSWORD", "s3cret-redis-repl-pw")
    hosts = load_inventory("inventories/prod_ha.py")
    assert Cluster.of({n: h.groups for n, h in hosts.items()}).etcd_members == (
        "aktienanalyse-data-1",
        "aktienanalyse-data-2",
        "aktienanalyse-voter",
    )


def test_the_example_ha_inventory_without_the_cluster_secrets_is_refused(production_env):
    from infra.hostdata import SettingsError, load_inventory

    with pytest.raises(SettingsError) as refused:
        load_inventory("inventories/prod_ha.py")
    assert (
        "aktienanalyse-data-1: group_data/all.py: secrets.postgresql_replication_password: "
        "required when 2 db hosts form a cluster" in str(refused.value)
    )


REDIS_HOSTS = {"data-1": ["db", "cache"], "data-2": ["db", "cache"], "mon-1": ["voter", "backup"]}


@pytest.fixture
def redis_tree(cluster_tree, monkeypatch):
    monkeypatch.setenv("T_REDIS_REPL", "s3cret-redis-replication-long")
    with_secrets(cluster_tree, {"redis_replication_password": {"env": "T_REDIS_REPL"}})
    return cluster_tree


def test_two_cache_hosts_and_a_voter_make_three_sentinels():
    assert Cluster.of(REDIS_HOSTS).sentinels == ("data-1", "data-2", "mon-1")


def test_a_valid_redis_cluster_loads(redis_tree):
    assert load(redis_tree, hosts=REDIS_HOSTS, data=data())["data-1"].settings.redis


def test_a_quorum_that_is_not_a_majority_is_refused(redis_tree):
    (redis_tree / "group_data" / "cache.py").write_text("redis = {'sentinel_quorum': 1}\n")
    message = problem(redis_tree, None, "", hosts=REDIS_HOSTS, data=data())
    assert (
        "group_data/cache.py: redis.sentinel_quorum: not a majority of the 3 Sentinels" in message
    )


def test_two_sentinels_are_refused(redis_tree):
    hosts = {"data-1": ["db", "cache"], "data-2": ["db", "cache"]}
    message = problem(redis_tree, None, "", hosts=hosts, data=data())
    assert "groups: 2 Sentinels (2 cache, 0 voter)" in message


def test_a_redis_cluster_without_its_replication_secret_is_refused(cluster_tree):
    message = problem(cluster_tree, None, "", hosts=REDIS_HOSTS, data=data())
    assert (
        "secrets.redis_replication_password: required when 2 cache hosts form a cluster" in message
    )


def test_an_lb_on_a_clustered_db_host_is_refused(cluster_tree):
    hosts = {"data-1": ["db", "lb"], "data-2": ["db"], "mon-1": ["voter"]}
    message = problem(cluster_tree, None, "", hosts=hosts, data=data())
    assert "t.py (host data-1): groups: an lb host that is also a db host of a cluster" in message


def test_a_clusters_postgresql_jobs_run_only_on_the_primary():
    from infra.jobs import ON_THE_PRIMARY, host_jobs
    from infra.settings import Settings

    jobs = host_jobs(Settings(), {"db"}, clustered=True)
    assert {job.name: job.condition for job in jobs} == dict.fromkeys(
        ["postgresql-backup-diff", "postgresql-backup-full", "postgresql-vacuum"], ON_THE_PRIMARY
    )
