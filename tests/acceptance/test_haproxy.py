"""deploys/haproxy.py on the lb host: TLS on 8443, backends from the inventory, checks."""

import json
import time

import pytest
import testinfra

from deploys.haproxy import CERTIFICATE, CONFIG
from infra.operations import staging_path
from infra.services import route
from infra.settings import DEFAULT_SERVICES, SERVICES, HAProxy
from tests.acceptance import lab
from tools.apply import run_pyinfra

testinfra_hosts = lab.hosts("lb")

LB = lab.names("lb")[0]
APP_HOSTS = lab.names("app")


def admin(host, command: str) -> str:
    return host.check_output(f"echo '{command}' | socat stdio /run/haproxy/admin.sock")


def https(host, path: str = "/health") -> str:
    return host.check_output(f"curl -fsSk --max-time 5 https://127.0.0.1:8443{path}")


def wait_for_status(host, server: str, wanted: str, seconds: float) -> str:
    """The frontend server's status in HAProxy once it is `wanted`, or after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        rows = admin(host, "show stat").splitlines()
        status = next(row for row in rows if row.startswith(f"frontend,{server},")).split(",")[17]
        if status == wanted or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


def test_haproxy_is_running(host):
    assert host.service("haproxy").is_running


def test_tls_frontend_answers_health(host):
    assert json.loads(https(host))["service"] == "frontend"


def test_certificate_is_not_world_readable(host):
    pem = host.file(CERTIFICATE)
    assert (pem.user, pem.group, pem.mode) == ("root", "haproxy", 0o640)


def test_one_server_per_app_host_and_instance(host):
    servers = [line.split()[1] for line in host.file(CONFIG).content_string.splitlines()
               if line.strip().startswith("server ")]  # fmt: skip
    once = [
        f"{app}-{port}" for app in APP_HOSTS for s in DEFAULT_SERVICES.values() for port in s.ports
    ]
    assert sorted(servers) == sorted(once * 2)  # in its service's backend and in the -alive twin


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_is_routed_by_its_prefix_over_tls(host, service):
    assert json.loads(https(host, route(service).rstrip("/") + "/health"))["service"] == service


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_is_routed_on_the_internal_entry(host, service):
    url = f"http://127.0.0.1:{HAProxy().internal_port}{route(service).rstrip('/')}/health"
    assert json.loads(host.check_output(f"curl -fsS --max-time 5 {url}"))["service"] == service


def test_requests_through_a_prefix_reach_every_instance(host):
    """intelligent-core: 2 instances on every app host, each takes a share."""
    before = sessions(host, "intelligent-core")
    for _ in range(8 * len(APP_HOSTS)):
        https(host, "/intelligent-core/")
    after = sessions(host, "intelligent-core")
    assert sorted(name for name in after if after[name] > before[name]) == sorted(
        f"{app}-{port}" for app in APP_HOSTS for port in DEFAULT_SERVICES["intelligent-core"].ports
    )


def test_stats_page_only_on_localhost(host):
    assert host.socket("tcp://127.0.0.1:8404").is_listening
    assert not host.socket("tcp://0.0.0.0:8404").is_listening


def test_admin_socket_is_not_world_accessible(host):
    assert host.file("/run/haproxy/admin.sock").mode & 0o007 == 0


def sessions(host, backend: str = "frontend") -> dict[str, int]:
    """Total sessions per server of a backend (HAProxy's `show stat`, stot)."""
    rows = [row.split(",") for row in admin(host, "show stat").splitlines()]
    return {row[1]: int(row[7]) for row in rows if row[0] == backend and row[1] != "BACKEND"}


def test_requests_reach_every_app_host(host):
    before = sessions(host)
    for _ in range(10):
        https(host)
    after = sessions(host)
    assert all(after[f"{app}-8005"] > before[f"{app}-8005"] for app in APP_HOSTS)


@pytest.mark.journey
@pytest.mark.skipif(len(APP_HOSTS) < 2, reason="needs two app hosts")
def test_stopped_instance_is_marked_down_and_avoided(host):
    victim = APP_HOSTS[0]
    lab.ssh(victim, "systemctl stop aktienanalyse-frontend@8005")
    try:
        status = wait_for_status(host, f"{victim}-8005", "DOWN", seconds=6)  # 2 failed checks
        statuses = [https(host) for _ in range(10)]
        assert status == "DOWN" and len(statuses) == 10
    finally:
        lab.ssh(victim, "systemctl start aktienanalyse-frontend@8005")
        wait_for_status(host, f"{victim}-8005", "UP", seconds=10)


@pytest.mark.journey
@pytest.mark.ha
def test_a_service_without_a_healthy_instance_is_still_served(host):
    """Fail open: with every monitoring server out of its checked backend (as when every
    instance fails /health during a PostgreSQL switchover), /monitoring/ is still answered by
    the instances themselves, not by HAProxy's 503."""
    servers = sessions(host, "monitoring")
    try:
        for server in servers:
            admin(host, f"set server monitoring/{server} state maint")
        answer = json.loads(https(host, "/monitoring/"))
        assert answer["service"] == "monitoring"
    finally:
        for server in servers:
            admin(host, f"set server monitoring/{server} state ready")


@pytest.fixture(scope="module")
def broken_setting():
    """Converge the lb with a cipher list OpenSSL rejects; the live config must stay."""
    lb = testinfra.get_host(lab.hosts("lb")[0])
    before = lb.file(CONFIG).sha256sum
    payload = run_pyinfra(
        "inventories/lab.py", extra=("--limit", LB),
        env={"AKTIENANALYSE_LAB_SETTINGS": json.dumps({"haproxy": {"ciphers": "NOT-A-CIPHER"}})},
        capture_stderr=True,
    )  # fmt: skip
    return {"payload": payload, "before": before, "after": lb.file(CONFIG).sha256sum}


@pytest.mark.journey("single")
def test_broken_setting_fails_the_run(broken_setting):
    assert broken_setting["payload"]["exit_code"] != 0


@pytest.mark.journey("single")
def test_broken_setting_is_refused_naming_file_key_and_reason(broken_setting):
    """OpenSSL's own parser refuses it on the control machine, before HAProxy's check could."""
    refusal = broken_setting["payload"]["stderr"]
    assert (
        "inventories/lab.py" in refusal and "haproxy.ciphers: OpenSSL selects no cipher" in refusal
    )


@pytest.mark.journey("single")
def test_broken_setting_never_goes_live(broken_setting):
    assert broken_setting["after"] == broken_setting["before"]


@pytest.mark.journey("single")
def test_old_configuration_keeps_serving(host, broken_setting):
    assert json.loads(https(host))["service"] == "frontend"


@pytest.mark.journey("single")
def test_no_staged_configuration_is_left(host, broken_setting):
    assert not host.file(staging_path(CONFIG)).exists


@pytest.mark.skipif(len(APP_HOSTS) < 2, reason="the admin port is only opened for remote app hosts")
def test_admin_port_refuses_hosts_outside_the_app_group(host):
    outsider = next(name for name in lab.names() if name not in APP_HOSTS and name != LB)
    result = lab.tcp_connect(outsider, lab.host_info(LB)["address"], 9999)
    assert result.returncode != 0 and "refused" in result.stderr


@pytest.mark.skipif(len(APP_HOSTS) < 2, reason="the admin port is only opened for remote app hosts")
def test_admin_port_admits_app_hosts(host):
    assert lab.tcp_connect(APP_HOSTS[0], lab.host_info(LB)["address"], 9999).returncode == 0
