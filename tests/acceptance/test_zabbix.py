"""deploys/zabbix.py on every host: PSK-only agent, UserParameters answer, discovery is exact."""

import json
import subprocess

import pytest

from deploys.zabbix import PSK_FILE
from infra.cluster import Cluster
from infra.services import LOG_READERS, instance_units
from infra.settings import DEFAULT_SERVICES, SERVICES
from infra.zabbix_items import (
    USER_PARAMETERS,
    daemons_discovery,
    etcd_discovery,
    patroni_discovery,
)
from tests.acceptance import lab

testinfra_hosts = lab.hosts()
CLUSTER = Cluster.of({name: lab.host_info(name)["groups"] for name in lab.names()})


def patroni_runs_on(name: str) -> bool:
    return CLUSTER.postgresql and name in CLUSTER.db


def etcd_runs_on(name: str) -> bool:
    return name in CLUSTER.etcd_members


def zabbix_packet(key: str) -> bytes:
    """A passive check's request in the Zabbix protocol: header, length, key."""
    return b"ZBXD\x01" + len(key.encode()).to_bytes(8, "little") + key.encode()


ZBX_PING = zabbix_packet("agent.ping")


def expected_units(name: str) -> set[str]:
    if "app" not in lab.host_info(name)["groups"]:
        return set()
    return {unit for s in SERVICES for unit in instance_units(s, DEFAULT_SERVICES[s])}


def value(tested: str) -> str:
    """The value in `zabbix_agent2 -t` output: `key   [s|value]`."""
    return tested[tested.index("|") + 1 : tested.rindex("]")]


def agent_test(host, key: str, as_agent: bool = False) -> str:
    """`zabbix_agent2 -t`: as root, or as the agent's own user (what PostgreSQL's peer
    authentication and the Redis password file are for)."""
    user = "runuser -u zabbix -- " if as_agent else ""
    return host.check_output(f"{user}zabbix_agent2 -c /etc/zabbix/zabbix_agent2.conf -t '{key}'")


def test_agent_is_running(host):
    assert host.service("zabbix-agent2").is_running


def test_psk_is_readable_by_the_agent_only(host):
    psk = host.file(PSK_FILE)
    assert (psk.user, psk.group, psk.mode) == ("zabbix", "zabbix", 0o400)


def test_psk_is_256_bits_of_hex(host):
    assert len(host.check_output(f"cat {PSK_FILE}")) == 64


def test_discovery_lists_exactly_the_deployed_units(host):
    data = json.loads(value(agent_test(host, "aktienanalyse.discovery")))["data"]
    assert {entry["{#UNIT}"] for entry in data} == expected_units(host.backend.hostname)


@pytest.mark.parametrize(
    "key",
    ["aktienanalyse.log.errors[frontend-8005]",
     "aktienanalyse.log.warnings[frontend-8005]", "aktienanalyse.health[8005]"],
)  # fmt: skip
def test_user_parameter_answers(host, key):
    assert key.split("[")[0] + "[*]" in USER_PARAMETERS
    assert value(agent_test(host, key)).isdigit()


def test_an_instance_units_state_is_an_item(host):
    """The unit names hold '@', which the agent refuses in a UserParameter's arguments: the
    state comes from agent 2's systemd plugin (found by registering on the real server)."""
    if not expected_units(host.backend.hostname):
        pytest.skip("no instances on this host")
    key = "systemd.unit.info[aktienanalyse-frontend@8005.service,ActiveState]"
    assert value(agent_test(host, key)) == "active"


def test_health_parameter_reports_200_for_a_live_instance(host):
    if not expected_units(host.backend.hostname):
        pytest.skip("no instances on this host")
    assert value(agent_test(host, "aktienanalyse.health[8005]")) == "200"


def client_for(target: str) -> str | None:
    """Another lab host to poll `target` from; None (the control machine) in `single`."""
    return next((name for name in lab.names() if name != target), None)


def zabbix_request(target: str, psk: str | None, key: str = "agent.ping") -> bytes:
    """`key` from another lab host: PSK-encrypted (openssl s_client) or in the clear."""
    address = lab.host_info(target)["address"]
    if psk is None:
        connect = f"timeout 5 bash -c 'exec 3<>/dev/tcp/{address}/10050; cat >&3; cat <&3'"
    else:
        connect = (f"read -r psk; timeout 10 openssl s_client -quiet -tls1_2 -connect "
                   f"{address}:10050 -psk_identity 'PSK {target}' -psk \"$psk\"")  # fmt: skip
    request = (psk + "\n").encode() + zabbix_packet(key) if psk else zabbix_packet(key)
    client = client_for(target)
    command = (["ssh", "-F", lab.SSH_CONFIG, client, connect] if client
               else ["bash", "-c", connect])  # fmt: skip
    return subprocess.run(command, input=request, capture_output=True, timeout=30).stdout


def test_psk_encrypted_request_answers(host):
    psk = host.check_output(f"cat {PSK_FILE}")
    reply = zabbix_request(host.backend.hostname, psk)
    assert reply.startswith(b"ZBXD") and reply.endswith(b"1")


@pytest.mark.parametrize(
    "key",
    [f"vfs.file.contents[{PSK_FILE}]", "vfs.file.contents[/etc/shadow]",
     "log[/var/log/auth.log]", "system.run[id]", "vfs.dir.get[/etc]"],
)  # fmt: skip
def test_the_server_cannot_read_files_or_run_commands(host, key):
    psk = host.check_output(f"cat {PSK_FILE}")
    reply = zabbix_request(host.backend.hostname, psk, key)
    assert reply.startswith(b"ZBXD") and b"ZBX_NOTSUPPORTED" in reply
    assert psk.encode() not in reply


def test_the_agent_reads_no_log_but_the_platforms(host):
    groups = host.user("zabbix").groups
    assert "adm" not in groups and LOG_READERS in groups


def test_unencrypted_request_is_refused(host):
    reply = zabbix_request(host.backend.hostname, None)
    assert not reply.endswith(b"1")


def expected_jobs(name: str) -> set[str]:
    groups = set(lab.host_info(name)["groups"])
    jobs = set()
    if "db" in groups:
        jobs |= {"postgresql-backup-full", "postgresql-backup-diff", "postgresql-vacuum"}
    if "cache" in groups:
        jobs.add("redis-snapshot-copy")
    migration = {"aktienanalyse-migration"} if name == lab.names("app")[0] else set()
    return {f"aktienanalyse-job-{job}" for job in jobs} | migration


def test_jobs_discovery_lists_exactly_the_hosts_jobs(host):
    data = json.loads(value(agent_test(host, "aktienanalyse.jobs.discovery")))["data"]
    assert {entry["{#JOB}"] for entry in data} == expected_jobs(host.backend.hostname)


def test_each_jobs_last_result_is_an_item(host):
    for job in sorted(expected_jobs(host.backend.hostname)):
        key = f"systemd.unit.info[{job}.service,Result,Service]"
        assert value(agent_test(host, key)) in {"success", "exit-code", "timeout", "signal"}


def test_the_verified_backups_age_is_an_item(host):
    if "db" not in lab.host_info(host.backend.hostname)["groups"]:
        pytest.skip("no database on this host")
    stamp = "/var/lib/aktienanalyse-backup/postgresql/last-success"
    assert value(agent_test(host, f"vfs.file.time[{stamp},modify]")).isdigit()


def test_pending_security_updates_is_an_item(host):
    assert value(agent_test(host, "aktienanalyse.updates.security")).isdigit()


def test_backups_discovery_names_the_stamp_of_each_backup_job(host):
    data = json.loads(value(agent_test(host, "aktienanalyse.backups.discovery")))["data"]
    backups = {
        job for job in expected_jobs(host.backend.hostname) if "backup" in job or "redis" in job
    }
    assert {entry["{#JOB}"] for entry in data} == backups


def test_tls_discovery_names_the_lbs_port_only(host):
    data = json.loads(value(agent_test(host, "aktienanalyse.tls.discovery")))["data"]
    is_lb = "lb" in lab.host_info(host.backend.hostname)["groups"]
    assert data == ([{"{#TLSPORT}": "8443"}] if is_lb else [])


def test_the_lbs_certificate_expiry_is_an_item(host):
    if "lb" not in lab.host_info(host.backend.hostname)["groups"]:
        pytest.skip("no TLS entry on this host")
    certificate = json.loads(value(agent_test(host, "web.certificate.get[localhost,8443]")))
    assert certificate["x509"]["not_after"]["timestamp"] > 0


@pytest.mark.parametrize("key", ["system.cpu.util[all,idle,avg1]", "aktienanalyse.memory.pused"])
def test_cpu_and_memory_are_items(host, key):
    assert 0 <= float(value(agent_test(host, key))) <= 100


def test_postgresql_connections_and_cache_hit_are_items(host):
    if "db" not in lab.host_info(host.backend.hostname)["groups"]:
        pytest.skip("no database on this host")
    database = "aktienanalyse_event_store"
    connections = value(agent_test(host, f"aktienanalyse.pgsql.connections[{database}]", True))
    assert connections.isdigit()
    hit = float(value(agent_test(host, f"aktienanalyse.pgsql.cache_hit[{database}]", True)))
    assert 0 <= hit <= 100


def test_the_monitoring_role_reads_statistics_only(host):
    if "db" not in lab.host_info(host.backend.hostname)["groups"]:
        pytest.skip("no database on this host")
    write = host.run("runuser -u zabbix -- psql -XAtq -d postgres -c 'CREATE TABLE t (x int)'")
    assert write.rc != 0


def test_redis_memory_and_clients_are_items(host):
    if "cache" not in lab.host_info(host.backend.hostname)["groups"]:
        pytest.skip("no Redis on this host")
    used = float(value(agent_test(host, "aktienanalyse.redis.memory_pused[6379]", True)))
    assert 0 < used < 100
    assert int(value(agent_test(host, "aktienanalyse.redis.clients[6379]", True))) >= 1


def test_the_agents_redis_user_may_not_read_keys(host):
    if "cache" not in lab.host_info(host.backend.hostname)["groups"]:
        pytest.skip("no Redis on this host")
    command = ('REDISCLI_AUTH="$(cat /etc/zabbix/aktienanalyse-redis.pass)" redis-cli '
               "--no-auth-warning --user zabbix GET market:x")  # fmt: skip
    assert "NOPERM" in host.check_output(f"runuser -u zabbix -- sh -c '{command}'")


def test_the_hosts_daemons_are_discovered_and_active(host):
    name = host.backend.hostname
    data = json.loads(value(agent_test(host, "aktienanalyse.daemons.discovery")))
    groups = set(lab.host_info(name)["groups"])
    assert data == daemons_discovery(groups, patroni_runs_on(name), etcd_runs_on(name))
    for entry in data["data"]:
        key = f"systemd.unit.info[{entry['{#DAEMON}']},ActiveState]"
        assert value(agent_test(host, key)) == "active"


def test_the_cluster_discovery_lists_entries_only_where_they_apply(host):
    name = host.backend.hostname
    patroni = json.loads(value(agent_test(host, "aktienanalyse.patroni.discovery")))
    etcd = json.loads(value(agent_test(host, "aktienanalyse.etcd.discovery")))
    assert (patroni, etcd) == (
        patroni_discovery(patroni_runs_on(name)),
        etcd_discovery(etcd_runs_on(name)),
    )


@pytest.mark.ha
def test_a_cluster_members_role_and_replication_are_items(host):
    if not patroni_runs_on(host.backend.hostname):
        pytest.skip("no Patroni on this host")
    role = value(agent_test(host, "aktienanalyse.pgsql.role[5432]", True))
    assert role in {"primary", "standby"}
    assert value(agent_test(host, "aktienanalyse.pgsql.sync_standbys[5432]", True)).isdigit()
    assert float(value(agent_test(host, "aktienanalyse.pgsql.replay_lag[5432]", True))) >= 0


@pytest.mark.ha
def test_a_cluster_member_sees_exactly_one_primary(host):
    if not patroni_runs_on(host.backend.hostname):
        pytest.skip("no Patroni on this host")
    assert value(agent_test(host, "aktienanalyse.patroni.primaries[8008]", True)) == "1"


@pytest.mark.ha
def test_an_etcd_member_is_healthy(host):
    if not etcd_runs_on(host.backend.hostname):
        pytest.skip("no etcd on this host")
    assert value(agent_test(host, "aktienanalyse.etcd.healthy[2381]", True)) == "1"


def sentinel_runs_on(name: str) -> bool:
    return name in CLUSTER.sentinels


@pytest.mark.ha
def test_a_sentinel_names_the_redis_master(host):
    if not sentinel_runs_on(host.backend.hostname):
        pytest.skip("no Sentinel on this host")
    named = value(agent_test(host, "aktienanalyse.sentinel.master[26379]", True))
    masters = [name for name in CLUSTER.cache if redis_role(name) == "master"]
    assert [named] == [lab.host_info(name)["address"] for name in masters]


@pytest.mark.ha
def test_the_sentinels_could_agree_on_a_failover(host):
    if not sentinel_runs_on(host.backend.hostname):
        pytest.skip("no Sentinel on this host")
    assert value(agent_test(host, "aktienanalyse.sentinel.quorum[26379]", True)) == "1"


@pytest.mark.ha
def test_a_clustered_cache_host_sees_exactly_one_redis_master(host):
    if not (CLUSTER.redis and host.backend.hostname in CLUSTER.cache):
        pytest.skip("no Redis cluster on this host")
    assert value(agent_test(host, "aktienanalyse.redis.masters[6379]", True)) == "1"


@pytest.mark.ha
@pytest.mark.parametrize(
    # Commands the user may not run, on a master that does not exist: harmless if they ran.
    "command",
    ["SENTINEL RESET no-such-master", "SENTINEL SET no-such-master quorum 1"],
)
def test_sentinels_monitoring_user_changes_nothing(host, command):
    if not sentinel_runs_on(host.backend.hostname):
        pytest.skip("no Sentinel on this host")
    answer = host.check_output(
        'REDISCLI_AUTH="$(cat /etc/zabbix/aktienanalyse-sentinel.pass)" runuser -u zabbix -- '
        f"redis-cli --no-auth-warning --user zabbix -p 26379 {command}"
    )
    assert answer.startswith("NOPERM")


def redis_role(name: str) -> str:
    """This cache host's Redis role as the agent reports it."""
    result = lab.ssh(
        name,
        "runuser -u zabbix -- zabbix_agent2 -c /etc/zabbix/zabbix_agent2.conf "
        "-t 'aktienanalyse.redis.role[6379]'",
    )
    return value(result.stdout.strip())
