"""Release journeys on the app hosts: upgrade, failed upgrade, rollback, pruning, killed deploy.

Each fixture is one step and builds on the one before (module scope, in this order):
1.0.0 (the lab's pin) -> 1.1.0 -> 1.2.0 (broken /health: rolled back) -> deploys/rollback.py
-> keep=2 -> a deploy killed during its switch, then converged. The first fixture's teardown
converges back to the lab's pins. It runs on single; test_rolling.py upgrades split's two app
hosts under load.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from infra.settings import SERVICES
from lab.topology import LAB_DIR
from tests.acceptance import lab
from tools.apply import REPO, changed_operations, run_pyinfra

pytestmark = pytest.mark.journey("single")

APP_HOSTS = lab.names("app")


WHEELHOUSE = LAB_DIR / "wheelhouse"


def wheel_hashes(service: str, version: str) -> dict[str, str]:
    """sha256 of the service's wheel and of every third-party wheel."""
    own = f"aktienanalyse_{service.replace('-', '_')}-{version}-py3-none-any.whl"
    wheels = [own] + [w.name for w in WHEELHOUSE.glob("*.whl") if not w.name.startswith("akt")]
    return {w: hashlib.sha256((WHEELHOUSE / w).read_bytes()).hexdigest() for w in wheels}


def settings(version: str, hashed: bool = False, **releases) -> dict:
    return {
        "services": {
            name: {
                "version": version,
                **({"sha256": wheel_hashes(name, version)} if hashed else {}),
            }
            for name in SERVICES
        },
        "releases": releases,
    }


def converge(version: str | None = None, deploy: str = "deploys/all.py", **releases) -> dict:
    env = {
        "AKTIENANALYSE_LAB_SETTINGS": json.dumps(settings(version, **releases) if version else {})
    }
    started = time.monotonic()
    payload = run_pyinfra(
        "inventories/lab.py", deploy, ("--limit", "app"), env, capture_stderr=True
    )
    payload["seconds"] = time.monotonic() - started
    return payload


def linked_versions(host: str) -> dict[str, str]:
    """The release each service's `current` link names."""
    out = lab.ssh(
        host, "for s in /opt/aktienanalyse/current/*; do echo ${s##*/} $(readlink $s); done"
    )
    return {
        service: target.rsplit("/", 1)[-1]
        for service, target in (line.split() for line in out.stdout.splitlines())
    }


def releases_kept(host: str, service: str) -> list[str]:
    out = lab.ssh(host, f"ls /opt/aktienanalyse/releases/{service}").stdout
    return sorted(out.split())


def switch_running(host: str) -> bool:
    """Whether an aktienanalyse-switch transient unit is active on `host`."""
    units = lab.ssh(host, "systemctl list-units --plain --no-legend 'aktienanalyse-switch-*'")
    return bool(units.stdout.strip())


@pytest.fixture(scope="module")
def upgraded():
    assert lab.all_versions() == {h: dict.fromkeys(SERVICES, "1.0.0") for h in APP_HOSTS}
    since = lab.now_on(APP_HOSTS[0])
    time.sleep(1)
    payload = converge("1.1.0")
    yield {
        "payload": payload,
        "versions": lab.all_versions(),
        "migrations": lab.migration_runs_since(since),
    }
    converge()  # back to the lab's pins


@pytest.fixture(scope="module")
def failed_upgrade(upgraded, tmp_path_factory):
    """The broken release through `make apply`'s tool, with its job summary (single: the one
    host is the app host, so this converges what `converge` would)."""
    tmp = tmp_path_factory.mktemp("failed-upgrade")
    summary, results = tmp / "summary.md", tmp / "results.json"
    run = subprocess.run(
        [sys.executable, "-m", "tools.apply", "inventories/lab.py", "--summary", str(summary),
         "--results", str(results)],
        cwd=REPO, capture_output=True, text=True,
        env={**os.environ, "AKTIENANALYSE_LAB_SETTINGS": json.dumps(settings("1.2.0"))},
    )  # fmt: skip
    payload = json.loads(results.read_text()) | {"stderr": run.stderr}
    return {"payload": payload, "versions": lab.all_versions(), "summary": summary.read_text()}


@pytest.fixture(scope="module")
def rolled_back(failed_upgrade):
    payload = converge("1.1.0", deploy="deploys/rollback.py")
    return {"payload": payload, "versions": lab.all_versions()}


@pytest.fixture(scope="module")
def pruned(rolled_back):
    payload = converge("1.0.0", keep=2)
    kept = {(h, s): releases_kept(h, s) for h in APP_HOSTS for s in SERVICES}
    return {"payload": payload, "kept": kept}


def test_upgrade_succeeds(upgraded):
    assert upgraded["payload"]["exit_code"] == 0


def test_upgrade_serves_the_new_version_everywhere(upgraded):
    assert upgraded["versions"] == {h: dict.fromkeys(SERVICES, "1.1.0") for h in APP_HOSTS}


def test_upgrade_migrated_once(upgraded):
    assert upgraded["migrations"] == 1


def test_broken_release_fails_the_run(failed_upgrade):
    assert failed_upgrade["payload"]["exit_code"] != 0


def test_broken_release_failure_names_host_service_and_version(failed_upgrade):
    stderr = failed_upgrade["payload"]["stderr"]
    assert f"FAILED: {APP_HOSTS[0]}: intelligent-core 1.2.0: instance 8001 did not answer" in stderr


def test_the_failed_applys_summary_names_the_switch_and_what_serves(failed_upgrade):
    assert (
        f"- **FAILED** `{APP_HOSTS[0]}`: Application | Migrate and switch intelligent-core to "
        "1.2.0" in failed_upgrade["summary"]
    )
    assert (
        "release switch of intelligent-core to 1.2.0 failed and was rolled back: the previous "
        "release, 1.1.0, is serving" in failed_upgrade["summary"]
    )


def test_the_failed_applys_summary_quotes_the_hosts_output(failed_upgrade):
    assert "intelligent-core 1.2.0: instance 8001 did not answer" in failed_upgrade["summary"]


def test_broken_release_is_rolled_back(failed_upgrade):
    assert "rolled back to 1.1.0" in failed_upgrade["payload"]["stderr"]


def test_old_release_keeps_serving_after_the_failed_upgrade(failed_upgrade):
    assert failed_upgrade["versions"] == {h: dict.fromkeys(SERVICES, "1.1.0") for h in APP_HOSTS}


def test_explicit_rollback_returns_to_the_previous_release(rolled_back):
    assert rolled_back["versions"] == {h: dict.fromkeys(SERVICES, "1.0.0") for h in APP_HOSTS}


def test_explicit_rollback_succeeds(rolled_back):
    assert rolled_back["payload"]["exit_code"] == 0


def test_releases_are_pruned_to_keep(pruned):
    assert {key: len(kept) for key, kept in pruned["kept"].items()} == dict.fromkeys(
        pruned["kept"], 2
    )


def test_pruning_keeps_the_live_release(pruned):
    assert all("1.0.0" in kept for kept in pruned["kept"].values())


@pytest.fixture(scope="module")
def bad_hash(pruned):
    """frontend 1.1.0, installed anew, with a wrong hash for its wheel."""
    for host in APP_HOSTS:  # whichever releases pruning left, 1.1.0 must be installed anew
        lab.ssh(host, "rm -rf /opt/aktienanalyse/releases/frontend/1.1.0")
    wanted = settings("1.0.0")
    hashes = wheel_hashes("frontend", "1.1.0")
    hashes[next(w for w in hashes if w.startswith("aktienanalyse_frontend"))] = "0" * 64
    wanted["services"]["frontend"] = {"version": "1.1.0", "sha256": hashes}
    env = {"AKTIENANALYSE_LAB_SETTINGS": json.dumps(wanted)}
    payload = run_pyinfra("inventories/lab.py", "deploys/all.py", ("--limit", "app"), env, True)
    return {"payload": payload, "versions": lab.all_versions()}


def test_wrong_wheel_hash_fails_the_install(bad_hash):
    assert "THESE PACKAGES DO NOT MATCH THE HASHES" in bad_hash["payload"]["stderr"]


def test_wrong_wheel_hash_leaves_the_live_release(bad_hash):
    assert {h: v["frontend"] for h, v in bad_hash["versions"].items()} == dict.fromkeys(
        APP_HOSTS, "1.0.0"
    )


@pytest.fixture(scope="module")
def killed(bad_hash):
    """Start an upgrade to 1.1.0 (hash-pinned), SIGKILL pyinfra once a switch runs, then
    converge again."""
    env = {**os.environ, "AKTIENANALYSE_LAB_SETTINGS": json.dumps(settings("1.1.0", True))}
    deploy = subprocess.Popen(
        [sys.executable, "-m", "pyinfra", "inventories/lab.py", "deploys/all.py", "-y",
         "--limit", "app"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    killed_during_switch = False
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and deploy.poll() is None:
        if any(switch_running(host) for host in APP_HOSTS):
            os.killpg(deploy.pid, signal.SIGKILL)
            killed_during_switch = True
            break
        time.sleep(0.2)
    deploy.wait()
    for _ in range(120):  # the switch finishes (or rolls back) on its own
        if not any(switch_running(host) for host in APP_HOSTS):
            break
        time.sleep(1)
    after_kill = lab.all_versions()
    links_after_kill = {host: linked_versions(host) for host in APP_HOSTS}
    payload = converge("1.1.0", hashed=True)
    again = converge("1.1.0", hashed=True)
    return {
        "killed_during_switch": killed_during_switch,
        "after_kill": after_kill,
        "links_after_kill": links_after_kill,
        "payload": payload,
        "versions": lab.all_versions(),
        "again": again,
    }


def test_deploy_was_killed_during_a_switch(killed):
    assert killed["killed_during_switch"]


def test_killed_deploy_leaves_what_current_names_live(killed):
    assert killed["after_kill"] == killed["links_after_kill"]


def test_next_run_converges_to_the_new_release(killed):
    assert killed["versions"] == {h: dict.fromkeys(SERVICES, "1.1.0") for h in APP_HOSTS}


def test_run_after_that_changes_nothing(killed):
    assert changed_operations(killed["again"]) == []
