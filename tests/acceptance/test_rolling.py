"""A rolling upgrade behind HAProxy loses no request (split, ha: two app hosts behind lb-1).

On ha, a planned switch of the PostgreSQL primary (`patronictl switchover`) and of the Redis
master (`SENTINEL FAILOVER`) happens in the middle of the upgrade, and still no request fails:
the instances' health checks (which ask both) never take them out of HAProxy.

A client on the control machine sends requests through https://<lb>:8443/, one after another,
to every routed service in turn (/, /intelligent-core/, /broker-gateway/, /event-bus/,
/monitoring/), for as long as the upgrade 1.0.0 -> 1.1.0 of every service runs, and at least
2000. The upgrade serves 1.1.0 everywhere and migrates once (test_releases.py, on single, goes
on from there: a broken release, rollback, pruning, hashes, a killed deploy).
"""

from __future__ import annotations

import json
import threading
import time

import pytest
import requests
import urllib3

from infra.services import route
from infra.settings import SERVICES, START_ORDER
from tests.acceptance import lab
from tools.apply import run_pyinfra

APP_HOSTS = lab.names("app")
LB_ADDRESS = lab.host_info(lab.names("lb")[0])["address"]
MINIMUM_REQUESTS = 2000
ROUTES = [route(name) if route(name) == "/" else route(name) + "/" for name in START_ORDER]

pytestmark = [
    pytest.mark.journey,
    pytest.mark.ha,
    pytest.mark.skipif(len(APP_HOSTS) < 2, reason="needs two app hosts behind HAProxy"),
]


def converge(version: str | None) -> dict:
    wanted = {"services": {name: {"version": version} for name in SERVICES}} if version else {}
    return run_pyinfra("inventories/lab.py", extra=("--limit", "app"),
                       env={"AKTIENANALYSE_LAB_SETTINGS": json.dumps(wanted)})  # fmt: skip


@pytest.fixture(scope="module")
def upgrade_under_load():
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)  # the lab's own cert
    session = requests.Session()
    counts = {"total": 0, "failed": 0, "errors": [], "by_route": dict.fromkeys(ROUTES, 0)}
    done = threading.Event()

    def client():
        while not done.is_set() or counts["total"] < MINIMUM_REQUESTS:
            path = ROUTES[counts["total"] % len(ROUTES)]
            try:
                response = session.get(f"https://{LB_ADDRESS}:8443{path}", verify=False, timeout=10)
                ok = response.status_code == 200
            except requests.RequestException as exc:
                ok, response = False, exc
            counts["total"] += 1
            counts["by_route"][path] += 1
            if not ok:
                counts["failed"] += 1
                status = str(getattr(response, "status_code", response))[:200]
                counts["errors"].append(f"{path}: {status}")

    switched: dict = {}
    since = lab.now_on(APP_HOSTS[0])
    switcher = threading.Thread(target=switch_data_primaries, args=(switched, since))
    worker = threading.Thread(target=client)
    time.sleep(1)  # journalctl --since has whole seconds
    started = time.monotonic()
    worker.start()
    if lab.TOPOLOGY == "ha":
        switcher.start()
    payload = converge("1.1.0")
    if lab.TOPOLOGY == "ha":
        switcher.join(timeout=120)
    upgrade_seconds = time.monotonic() - started
    during_upgrade = counts["total"]
    done.set()
    worker.join(timeout=600)
    upgraded = {"versions": healthy_versions(), "migrations": lab.migration_runs_since(since)}
    yield {
        **counts,
        **upgraded,
        "payload": payload,
        "seconds": upgrade_seconds,
        "during": during_upgrade,
        "switched": switched,
    }
    converge(None)


def healthy_versions(seconds: float = 20) -> dict:
    """lab.all_versions() once every instance answers /health again (a Sentinel failover
    that just finished leaves /health failing until HAProxy has seen the new master twice)."""
    deadline = time.monotonic() + seconds
    while True:
        seen = lab.all_versions()
        healthy = all(version for host in seen.values() for version in host.values())
        if healthy or time.monotonic() > deadline:
            return seen
        time.sleep(1)


def switch_data_primaries(switched: dict, since: str) -> None:
    """patronictl switchover and SENTINEL FAILOVER while the releases switch, once the
    migration has run: a migration cut off by the switchover fails the converge, which rolls
    the release back (safe, but not what this journey measures)."""
    from tests.acceptance.test_ha import ask_sentinel, leader, master, members

    for _ in range(120):
        if lab.migration_runs_since(since) >= 1:
            break
        time.sleep(0.5)
    before = (leader(), master())
    candidate = next(m["Member"] for m in members() if m["Role"] != "Leader")
    lab.ssh(before[0], f"patronictl -c /etc/patroni/15-main.yml switchover 15-main "
                       f"--leader {before[0]} --candidate {candidate} --force")  # fmt: skip
    time.sleep(10)  # one at a time: each is a short pause of its own
    ask_sentinel(lab.names("voter")[0], "SENTINEL FAILOVER aktienanalyse")
    for _ in range(30):
        time.sleep(1)
        after = (leader(), master())
        if after[0] != before[0] and after[1] != before[1]:
            break
    switched.update(before=before, after=after)


@pytest.mark.skipif(lab.TOPOLOGY != "ha", reason="ha: the data hosts switch during the upgrade")
def test_primary_and_master_switched_during_the_upgrade(upgrade_under_load):
    before, after = (
        upgrade_under_load["switched"]["before"],
        upgrade_under_load["switched"]["after"],
    )
    assert (after[0] != before[0], after[1] != before[1]) == (True, True)


def test_upgrade_succeeds(upgrade_under_load):
    assert upgrade_under_load["payload"]["exit_code"] == 0


def test_every_app_host_serves_the_new_version(upgrade_under_load):
    wanted = {host: dict.fromkeys(SERVICES, "1.1.0") for host in APP_HOSTS}
    assert upgrade_under_load["versions"] == wanted


def test_the_schema_migrated_once_for_all_app_hosts(upgrade_under_load):
    assert upgrade_under_load["migrations"] == 1


def test_enough_requests_were_sent_during_the_upgrade(upgrade_under_load):
    assert upgrade_under_load["during"] >= MINIMUM_REQUESTS


def test_every_routed_service_was_asked(upgrade_under_load):
    assert min(upgrade_under_load["by_route"].values()) >= MINIMUM_REQUESTS // len(ROUTES)


def test_no_request_failed_during_the_upgrade(upgrade_under_load):
    print(f"\nrolling upgrade: {upgrade_under_load['failed']}/{upgrade_under_load['total']} "
          f"failed ({upgrade_under_load['during']} during the upgrade), "
          f"upgrade took {upgrade_under_load['seconds']:.1f}s; "
          f"by route: {upgrade_under_load['by_route']}")  # fmt: skip
    assert (upgrade_under_load["failed"], upgrade_under_load["errors"][:5]) == (0, [])
