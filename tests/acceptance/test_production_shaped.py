"""The production data path on the lab: inventories/prod.py's shape, the repository's
group_data/ first exactly as it is (no service has a version: HAProxy answers 503 with its
maintenance response), then as an operator extends it (versions pinned in
group_data/app.py), secrets from the environment.

The inventory differs from prod.py only in addresses and connection (the lab's); each
group_data file is the repository's, with lines appended for what production would set
differently here: the versions and wheelhouse (app.py), and the lab's addresses (apt cache,
Zabbix pollers) and operator key (all.py). pyinfra loads it as it loads production's.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from infra.settings import SERVICES
from tests.acceptance import lab
from tools.apply import REPO, changed_operations, failed_operations, run_pyinfra

pytestmark = pytest.mark.journey("split")

SECRET_ENV = {
    "AKTIENANALYSE_POSTGRESQL_APP_PASSWORD": "postgresql_app_password",
    "AKTIENANALYSE_PGBACKREST_CIPHER_PASS": "pgbackrest_cipher_pass",
    "AKTIENANALYSE_REDIS_APP_PASSWORD": "redis_app_password",
    "AKTIENANALYSE_REDIS_ADMIN_PASSWORD": "redis_admin_password",
    "AKTIENANALYSE_HAPROXY_TLS_PEM": "haproxy_tls_pem",
}


def production_shaped_tree(root: Path, pinned: bool) -> Path:
    """root/inventory.py and root/group_data/ (copies of the repository's, extended; with
    `pinned`, app.py also pins every service's version as an operator would)."""
    shutil.copytree(REPO / "group_data", root / "group_data")
    manifest = lab.MANIFEST
    connection = {
        "ssh_config_file": manifest["ssh_config"],
        "ssh_known_hosts_file": manifest["known_hosts"],
        "ssh_strict_host_key_checking": "yes",
    }
    lines = [
        '"""Production-shaped lab inventory (tests/acceptance/test_production_shaped.py)."""',
        "from infra.hostdata import check_before_connecting",
        "check_before_connecting(__file__)",
    ]
    for group in ("lb", "app", "db", "cache"):
        members = [
            (h["name"], {**connection, "address": h["address"]})
            for h in manifest["hosts"]
            if group in h["groups"]
        ]
        lines.append(f"{group} = {members!r}")
    (root / "inventory.py").write_text("\n".join(lines) + "\n")
    key = (Path(manifest["ssh_config"]).parent / "id_ed25519.pub").read_text().strip()
    pollers = [manifest["bridge"]["address"], *(h["address"] for h in manifest["hosts"])]
    with open(root / "group_data" / "all.py", "a") as all_py:
        all_py.write(
            "\n# Appended by the test: the lab's addresses and operator instead of production's.\n"
            f"system = {{**system, 'apt_proxy': {manifest['apt_proxy']!r}}}\n"
            f"operators = [{{'name': 'ops', 'ssh_keys': [{key!r}]}}]\n"
            f"zabbix = {{'server': {pollers!r}, 'server_active': None}}\n"
        )
    if not pinned:
        return root / "inventory.py"
    with open(root / "group_data" / "app.py", "a") as app_py:
        versions = {name: {"version": "1.0.0"} for name in SERVICES}
        app_py.write(
            "\n# Appended by the test: what an operator pins for a release.\n"
            f"services = {json.dumps(versions)}\n"
            f"releases = {{'wheelhouse': {str(lab.LAB_DIR / 'wheelhouse')!r}}}\n"
        )
    return root / "inventory.py"


def through_the_lb(path: str) -> tuple[int, str]:
    """Status and body of https://<lb>:8443<path>, asked on the lb."""
    command = f"curl -sk --max-time 5 -w '\\n%{{http_code}}' https://127.0.0.1:8443{path}"
    result = lab.ssh(lab.names("lb")[0], command)
    body, _, status = result.stdout.rpartition("\n")
    return int(status), body


@pytest.fixture(scope="module")
def converged(tmp_path_factory):
    """The repository's group data as it is (no versions), then with versions pinned, twice."""
    env = {name: lab.secret(secret) for name, secret in SECRET_ENV.items()}
    unpinned = production_shaped_tree(tmp_path_factory.mktemp("unpinned"), pinned=False)
    pinned = production_shaped_tree(tmp_path_factory.mktemp("pinned"), pinned=True)
    runs = {"unpinned": run_pyinfra(str(unpinned), env=env)}
    runs["maintenance"] = {path: through_the_lb(path) for path in ("/", "/intelligent-core/")}
    runs["first"] = run_pyinfra(str(pinned), env=env)
    runs["second"] = run_pyinfra(str(pinned), env=env)
    yield runs
    # Back to the lab inventory's settings (its health timeout), for the suites after this.
    restored = run_pyinfra("inventories/lab.py")
    assert failed_operations(restored) == [] and restored["exit_code"] == 0


def test_the_repository_group_data_without_versions_converges(converged):
    run = converged["unpinned"]
    assert (failed_operations(run), run["exit_code"]) == ([], 0), run["stderr"][-3000:]


@pytest.mark.parametrize("path", ["/", "/intelligent-core/"])
def test_without_versions_haproxy_answers_503_with_the_maintenance_response(converged, path):
    status, body = converged["maintenance"][path]
    assert (status, "maintenance" in body) == (503, True)


def test_the_production_shaped_inventory_converges(converged):
    first = converged["first"]
    assert (failed_operations(first), first["exit_code"]) == ([], 0), first["stderr"][-3000:]


def test_the_production_shaped_inventory_changed_what_differs_from_the_lab(converged):
    """Production's default health timeout (60 s) against the lab's (10 s): the switch script."""
    changed = {name for _, name in changed_operations(converged["first"])}
    assert "Application | Render /usr/local/sbin/aktienanalyse-switch" in changed


def test_a_second_production_shaped_converge_changes_nothing(converged):
    assert changed_operations(converged["second"]) == []


def test_with_versions_every_route_answers(converged):
    assert [through_the_lb(p)[0] for p in ("/", "/intelligent-core/", "/event-bus/")] == [200] * 3


def test_haproxy_routes_to_the_versions_pinned_for_the_app_group(converged):
    """The lb reads the app hosts' services: one server per app host for every service."""
    lb = lab.names("lb")[0]
    config = lab.ssh(lb, "cat /etc/haproxy/haproxy.cfg").stdout
    for service in SERVICES:
        assert f"backend {service}" in config
    for app in lab.names("app"):
        assert f"server {app}-8005 " in config
