"""deploys/app.py on the converged app hosts: releases, units, sandbox, start order."""

import json

import pytest

from infra.settings import SERVICES, START_ORDER
from tests.acceptance import lab

testinfra_hosts = lab.hosts("app")

LAB_VERSION = "1.0.0"  # inventories/lab.py pins every service to it
PORTS = lab.PORTS
MIGRATING_HOST = lab.names("app")[0]


def health(host, port: int) -> dict:
    return json.loads(host.check_output(f"curl -fsS --max-time 5 http://127.0.0.1:{port}/health"))


def units(host) -> list[str]:
    written = [f"aktienanalyse-{s}@{PORTS[s]}.service" for s in SERVICES]
    if host.backend.hostname == MIGRATING_HOST:
        written.append("aktienanalyse-migration.service")
    return written


@pytest.mark.parametrize("service", SERVICES)
def test_instance_answers_health_with_the_pinned_version(host, service):
    assert health(host, PORTS[service]) == {"service": service, "version": LAB_VERSION}


@pytest.mark.parametrize("service", SERVICES)
def test_instance_runs_as_its_own_user_in_the_platform_group(host, service):
    pid = host.check_output(
        f"systemctl show -p MainPID --value aktienanalyse-{service}@{PORTS[service]}"
    )
    assert host.check_output(f"ps -o user:40=,group:40= -p {pid}").split() == [
        f"aktienanalyse-{service}",
        "aktienanalyse",
    ]


@pytest.mark.parametrize("service", SERVICES)
def test_current_points_at_the_release(host, service):
    link = host.file(f"/opt/aktienanalyse/current/{service}")
    assert link.linked_to == f"/opt/aktienanalyse/releases/{service}/{LAB_VERSION}"


@pytest.mark.parametrize("service", SERVICES)
def test_release_venv_is_read_only_for_the_services(host, service):
    venv = host.file(f"/opt/aktienanalyse/releases/{service}/{LAB_VERSION}/lib")
    assert (venv.user, venv.mode & 0o022) == ("root", 0)


def test_every_written_unit_rates_1_5_or_lower(host):
    scores = {}
    for unit in units(host):
        line = host.check_output(f"systemd-analyze security {unit} | tail -1")
        scores[unit] = float(line.split("level for")[1].split(":")[1].split()[0])
    assert {u: s for u, s in scores.items() if s > 1.5} == {}


def test_environment_file_holds_secrets_for_the_group_only(host):
    env = host.file("/etc/aktienanalyse/production.env")
    assert (env.user, env.group, env.mode) == ("root", "aktienanalyse", 0o640)


def test_target_is_enabled(host):
    assert host.service("aktienanalyse.target").is_enabled


def test_migration_unit_only_on_the_migrating_host(host):
    present = host.file("/etc/systemd/system/aktienanalyse-migration.service").exists
    assert present == (host.backend.hostname == MIGRATING_HOST)


@pytest.mark.journey
def test_target_starts_everything_in_the_seeds_order(host):
    order = [f"aktienanalyse-{s}@{PORTS[s]}.service" for s in START_ORDER]
    host.check_output("systemctl stop aktienanalyse.target")
    # The target's stop job ends before its parts' (uvicorn shuts down gracefully); a start
    # queued meanwhile would cancel the stops still pending. Wait (bounded) until all are down.
    units = " ".join(order)
    host.check_output(
        f"for _ in $(seq 60); do systemctl is-active --quiet {units} || exit 0; sleep 0.5; done; "
        "exit 1"
    )
    host.check_output("systemctl start aktienanalyse.target")
    if host.backend.hostname == MIGRATING_HOST:
        order.insert(0, "aktienanalyse-migration.service")
    prop = "InactiveExitTimestampMonotonic"
    started = [int(host.check_output(f"systemctl show -p {prop} --value {unit}")) for unit in order]
    assert started == sorted(started) and len(set(started)) == len(started)


@pytest.mark.journey
@pytest.mark.parametrize("service", SERVICES)
def test_instances_are_healthy_again_after_the_target_restart(host, service):
    for _ in range(30):
        if host.run(f"curl -fsS --max-time 2 http://127.0.0.1:{PORTS[service]}/health").rc == 0:
            break
        host.run("sleep 1")
    assert health(host, PORTS[service])["version"] == LAB_VERSION


@pytest.mark.parametrize("callee", SERVICES)
def test_a_service_reaches_its_peers_through_haproxy(host, callee):
    """frontend calls each service at its AKTIENANALYSE_URL_* (the lb's internal entry)."""
    answer = json.loads(
        host.check_output(
            f"curl -fsS --max-time 10 http://127.0.0.1:{PORTS['frontend']}/peer/{callee}"
        )
    )
    assert (answer["via"], answer["answer"]["service"]) == ("frontend", callee)
