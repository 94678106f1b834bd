"""deploys/logrotate.py: the policy is live and a forced rotation keeps the services writing."""

import time

import pytest

from deploys.logrotate import CONFIG
from infra.services import LOG_READERS
from tests.acceptance import lab

testinfra_hosts = lab.hosts("app")

LOG = "/var/log/aktienanalyse/frontend-8005.log"


def request_health(host) -> None:
    host.check_output("curl -fsS --max-time 5 -o /dev/null http://127.0.0.1:8005/health")


def test_policy_passes_logrotate_debug(host):
    assert host.run(f"logrotate -d {CONFIG}").rc == 0


def test_instance_writes_its_own_log(host):
    request_health(host)
    assert "GET /health" in host.file(LOG).content_string


def test_log_belongs_to_the_service_and_the_log_readers(host):
    log = host.file(LOG)
    assert (log.user, log.group, log.mode) == ("aktienanalyse", LOG_READERS, 0o640)


@pytest.mark.journey
def test_forced_rotation_rotates_and_the_service_keeps_writing(host):
    request_health(host)
    host.check_output(f"logrotate -f {CONFIG}")
    rotated = host.file(LOG + ".1")
    request_health(host)
    time.sleep(0.5)
    assert rotated.exists and "GET /health" in host.file(LOG).content_string
