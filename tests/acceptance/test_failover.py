"""Journey (ha): the PostgreSQL primary's container is stopped hard (`lxc-stop -k`) while a
writer on an app host inserts unique ids through HAProxy and logs each acknowledged one.

Promised (issue 28): writes resume within 15 s; every acknowledged row is on the new primary;
HAProxy never sends to two servers and never are two members writable at once; the old
primary, started again, rejoins as a standby; the converge after that succeeds and the one
after it changes nothing. The figures go to .lab/logs/ha-failover.json.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time

import pytest

from tests.acceptance import lab
from tests.acceptance.failover import converge_twice, outage, record, start_sampler, two_up
from tests.acceptance.test_data_access import DATABASE, credentials
from tests.acceptance.test_ha import members

pytestmark = [pytest.mark.ha, pytest.mark.journey("ha")]

DB = lab.names("db")
LB = lab.names("lb")[0]
WRITER_HOST = lab.names("app")[0]
SERVICE = "frontend"
WRITE_SECONDS, KILL_AFTER = 45, 8
RESUME_LIMIT = 15  # seconds (issue 28)
ACKED = "/tmp/ha-acked"
WRITER = f"""
i=0; end=$(( $(date +%s) + {WRITE_SECONDS} )); : > {ACKED}
while [ "$(date +%s)" -lt "$end" ]; do
  i=$((i + 1))
  if psql -XAtq -w -h {lab.host_info(LB)["address"]} -U "$ROLE" -d {DATABASE} \\
      -c "INSERT INTO ha_probe (id) VALUES ($i)" >/dev/null 2>&1; then
    echo "$i $(date +%s.%N)" >> {ACKED}
  fi
  sleep 0.05
done
"""


def leader() -> str:
    return next(m["Member"] for m in members() if m["Role"] == "Leader")


def psql_as_postgres(name: str, sql: str) -> subprocess.CompletedProcess:
    return lab.ssh(name, f'runuser -u postgres -- psql -XAtq -d {DATABASE} -c "{sql}"')


def etcd_status() -> list[dict]:
    return json.loads(lab.ssh(DB[0], "etcdctl endpoint status --cluster -w json").stdout)


def member_id(entry: dict) -> int:
    return entry["Status"]["header"]["member_id"]


def etcd_leader_host() -> str:
    """The lab host whose etcd member leads (`etcdctl endpoint status`)."""
    leader = next(e["Endpoint"] for e in etcd_status() if e["Status"]["leader"] == member_id(e))
    return next(n for n in lab.names() if f"//{lab.host_info(n)['address']}:" in leader)


def lead_etcd_from(name: str) -> None:
    """The worst case: etcd's leader on the host about to die, so etcd elects before Patroni
    can (`etcdctl move-leader`, sent to the current leader)."""
    status = etcd_status()
    target = next(e for e in status if f"//{lab.host_info(name)['address']}:" in e["Endpoint"])
    leader = next(e for e in status if e["Status"]["leader"] == member_id(e))
    if leader is not target:
        command = f"etcdctl --endpoints={leader['Endpoint']} move-leader {member_id(target):x}"
        lab.ssh(DB[0], command)


def container(name: str) -> str:
    return lab.host_info(name)["container"]


def in_recovery(name: str, found: dict) -> None:
    """pg_is_in_recovery() on `name` into found[name] ("t", "f", or "" when down)."""
    command = "runuser -u postgres -- psql -XAtqc 'SELECT pg_is_in_recovery()'"
    ssh = ["ssh", "-F", lab.SSH_CONFIG, "-o", "BatchMode=yes", "-o", "ConnectTimeout=2"]
    try:
        result = subprocess.run([*ssh, name, command], capture_output=True, text=True, timeout=5)
        found[name] = result.stdout.strip()
    except subprocess.TimeoutExpired:
        found[name] = ""


def writable_rounds(stop: threading.Event, rounds: list) -> None:
    """Every 500 ms: which db hosts answer pg_is_in_recovery() = f (a down host: none)."""
    while not stop.is_set():
        found: dict[str, str] = {}
        threads = [threading.Thread(target=in_recovery, args=(n, found)) for n in DB]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        rounds.append((time.time(), sorted(n for n, v in found.items() if v == "f")))
        time.sleep(0.5)


@pytest.fixture(scope="module")
def failover():
    old = leader()
    new = next(n for n in DB if n != old)
    psql_as_postgres(old, "DROP TABLE IF EXISTS ha_probe")
    role = credentials(SERVICE)["AKTIENANALYSE_DB_USER"]
    created = psql_as_postgres(
        old,
        f"CREATE TABLE ha_probe (id int PRIMARY KEY); GRANT SELECT, INSERT ON ha_probe TO {role}",
    )
    assert created.returncode == 0, created.stderr
    lab.ssh(WRITER_HOST, f"cat > /tmp/ha-writer.sh <<'EOF'\n{WRITER}\nEOF")
    samples_file = start_sampler("postgresql", WRITE_SECONDS)
    password = credentials(SERVICE)["AKTIENANALYSE_DB_PASSWORD"]
    lab.ssh(
        WRITER_HOST,
        f"read -r PGPASSWORD; export PGPASSWORD PGCONNECT_TIMEOUT=2 ROLE={role}; "
        "nohup sh /tmp/ha-writer.sh >/dev/null 2>&1 &",
        stdin=password,
    )
    stop, rounds = threading.Event(), []
    poller = threading.Thread(target=writable_rounds, args=(stop, rounds))
    poller.start()
    try:
        lead_etcd_from(old)
        time.sleep(KILL_AFTER)
        etcd_leader = etcd_leader_host()
        killed_at = time.time()
        subprocess.run(["lxc-stop", "-n", container(old), "-k"], check=True)
        time.sleep(WRITE_SECONDS - KILL_AFTER + 2)
        acked = [line.split() for line in lab.ssh(WRITER_HOST, f"cat {ACKED}").stdout.splitlines()]
        present = psql_as_postgres(new, "SELECT id FROM ha_probe").stdout.split()
        subprocess.run(["lxc-start", "-n", container(old)], check=True)
        rejoined = None
        for _ in range(120):
            time.sleep(1)
            try:
                states = {m["Member"]: (m["Role"], m["State"]) for m in members()}
            except (json.JSONDecodeError, subprocess.TimeoutExpired):
                continue
            if states.get(old, ("", ""))[1] == "running":
                rejoined = states[old][0]
                break
        time.sleep(3)
    finally:  # a failed step must not leave the poller running
        stop.set()
        poller.join()
    result = {
        "old_primary": old,
        "new_primary": new,
        "acknowledged": len(acked),
        **outage(acked, killed_at),
        "lost": sorted(set(i for i, _ in acked) - set(present), key=int),
        "two_up_samples": two_up(samples_file),
        "two_writable_rounds": [r for r in rounds if len(r[1]) > 1],
        "rejoined_as": rejoined,
        "etcd_leader_killed": etcd_leader == old,  # the worst case: etcd elects first
    }
    return record("ha-failover", result)


def test_writes_resume_within_15_s(failover):
    assert failover["resumed_after_s"] is not None
    assert failover["resumed_after_s"] <= RESUME_LIMIT


def test_no_acknowledged_row_is_lost(failover):
    assert failover["lost"] == []


def test_haproxy_never_sends_to_two_servers(failover):
    assert failover["two_up_samples"] == []


def test_never_two_writable_members(failover):
    assert failover["two_writable_rounds"] == []


def test_the_old_primary_rejoins_as_a_standby(failover):
    assert failover["rejoined_as"] in ("Replica", "Sync Standby")


@pytest.fixture(scope="module")
def converged(failover):
    return converge_twice()


def test_the_converge_after_the_failover_succeeds(converged):
    assert converged["exit_code"] == 0, converged["stderr"][-3000:]


def test_the_converge_after_that_changes_nothing(converged):
    assert converged["changed_by_the_next"] == []


def test_the_standby_is_synchronous_again(converged):
    assert sorted(m["Role"] for m in members()) == ["Leader", "Sync Standby"]
