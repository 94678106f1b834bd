"""App hosts: every declared instance runs and answers /health with the declared version."""

import json

import pytest

from infra.services import deployed
from tests.verify import targets

testinfra_hosts = targets.hosts("app")
HEALTH = (
    "python3 -c 'import sys, urllib.request; print(urllib.request.urlopen("
    '"http://127.0.0.1:%s/health" % sys.argv[1], timeout=5).read().decode())\' {}'
)


def instances(host) -> list[tuple[str, str, int]]:
    """(service, version, port) of every instance the inventory declares for `host`."""
    settings = targets.settings(host.backend.hostname)
    return [(n, s.version, port) for n, s in deployed(settings) for port in s.ports]


def test_platform_target_is_active(host):
    assert host.service("aktienanalyse.target").is_running


def test_every_declared_instance_runs(host):
    stopped = [
        (name, port)
        for name, _, port in instances(host)
        if not host.service(f"aktienanalyse-{name}@{port}").is_running
    ]
    assert stopped == []


def test_every_instance_serves_its_declared_version(host):
    wrong = []
    for name, version, port in instances(host):
        answer = json.loads(host.check_output(HEALTH.format(port)))
        if answer.get("version") != version:
            wrong.append((name, port, answer.get("version")))
    assert wrong == []


@pytest.mark.parametrize("path", ["/etc/aktienanalyse/production.env"])
def test_secrets_file_is_not_world_readable(host, path):
    assert host.file(path).mode & 0o007 == 0
