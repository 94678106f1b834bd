"""A data host lost for good and rebuilt (ha): data-2's container is destroyed, a new empty
one of the same name is made, and one converge makes it a member again: etcd (the stale
member removed, the new one added), PostgreSQL (Patroni builds the replica from pgBackRest's
repository), Redis (a replica of the master) and its Sentinel. The converge after it changes
nothing.

The survivor takes over first: PostgreSQL by Patroni's failover, Redis by Sentinel's.
"""

import json
import subprocess
import sys
import time

import pytest

from lab import containers
from lab.topology import CONTAINER_PREFIX
from tests.acceptance import lab
from tests.acceptance.failover import converge_twice
from tests.acceptance.test_ha import ask_sentinel, replication

pytestmark = [pytest.mark.journey("ha"), pytest.mark.ha]

DB = lab.names("db")
LOST = DB[-1] if lab.TOPOLOGY == "ha" else ""
SURVIVOR = DB[0] if lab.TOPOLOGY == "ha" else ""
VOTER = lab.names("voter")[0] if lab.TOPOLOGY == "ha" else ""
PATRONICTL = "patronictl -c /etc/patroni/15-main.yml"


def members() -> list[dict]:
    result = lab.ssh(SURVIVOR, f"{PATRONICTL} list -f json")
    return json.loads(result.stdout) if result.returncode == 0 else []


def sentinel_master(sentinel: str) -> str:
    """The master's address `sentinel` names."""
    answer = ask_sentinel(sentinel, "SENTINEL get-master-addr-by-name aktienanalyse")
    return (answer.split() or [""])[0]


def survivor_leads() -> bool:
    leaders = [m["Member"] for m in members() if m["Role"] == "Leader"]
    return leaders == [SURVIVOR] and sentinel_master(VOTER) == lab.host_info(SURVIVOR)["address"]


@pytest.fixture(scope="module")
def rebuilt():
    containers.destroy(CONTAINER_PREFIX + LOST)
    lab.wait_for(survivor_leads, timeout=90)
    up = subprocess.run(
        [sys.executable, "-m", "lab", "up", "--topology", "ha"], capture_output=True, text=True
    )
    assert up.returncode == 0, up.stderr[-2000:]
    started = time.monotonic()
    converged = converge_twice()
    converged["seconds"] = round(time.monotonic() - started)
    return converged


def test_one_converge_makes_it_a_member_again(rebuilt):
    assert rebuilt["exit_code"] == 0, rebuilt["stderr"][-3000:]


def test_the_converge_after_it_changes_nothing(rebuilt):
    assert rebuilt["changed_by_the_next"] == []


def test_etcd_has_three_healthy_members_again(rebuilt):
    result = lab.ssh(LOST, "etcdctl endpoint health --cluster -w json")
    assert [e["health"] for e in json.loads(result.stdout)] == [True, True, True]


def test_the_rebuilt_host_is_a_running_standby(rebuilt):
    state = {m["Member"]: (m["Role"], m["State"]) for m in members()}
    assert state[LOST] in (("Sync Standby", "running"), ("Replica", "running"))


def streams() -> bool:
    query = "SELECT status FROM pg_stat_wal_receiver"
    result = lab.ssh(LOST, f'runuser -u postgres -- psql -XAtq -c "{query}"')
    return result.stdout.strip() == "streaming"


def test_the_rebuilt_replica_streams_on_the_primary_s_timeline(rebuilt):
    lab.wait_for(streams, timeout=60)
    assert len({m["TL"] for m in members()}) == 1


def test_patroni_built_it_from_the_repository(rebuilt):
    journal = lab.ssh(LOST, "journalctl -u patroni@15-main --no-pager -o cat")
    assert "replica has been created using pgbackrest" in journal.stdout


def test_its_redis_is_a_linked_replica_of_the_master(rebuilt):
    info = replication(LOST)
    assert (info.get("role"), info.get("master_host"), info.get("master_link_status")) == (
        "slave",
        lab.host_info(SURVIVOR)["address"],
        "up",
    )


def test_its_sentinel_names_the_master(rebuilt):
    assert sentinel_master(LOST) == lab.host_info(SURVIVOR)["address"]
