"""Rotating a host's Zabbix PSK as docs/runbook.md says (remove the file, apply): the agent
restarts with the new key, which then answers; the old one no longer does."""

import pytest

from deploys.zabbix import PSK_FILE
from tests.acceptance import lab
from tests.acceptance.test_zabbix import zabbix_request
from tools.apply import changed_operations, failed_operations, run_pyinfra

pytestmark = pytest.mark.journey("single")

HOST = lab.names()[0]


@pytest.fixture(scope="module")
def rotated():
    old = lab.ssh(HOST, f"cat {PSK_FILE}").stdout.strip()
    assert lab.ssh(HOST, f"rm {PSK_FILE}").returncode == 0
    payload = run_pyinfra("inventories/lab.py", extra=("--limit", HOST))
    assert (payload["exit_code"], failed_operations(payload)) == (0, [])
    new = lab.ssh(HOST, f"cat {PSK_FILE}").stdout.strip()
    return old, new, [name for _, name in changed_operations(payload)]


def test_a_new_key_is_generated(rotated):
    old, new, _ = rotated
    assert len(new) == 64 and new != old


def test_the_agent_restarts_for_it(rotated):
    assert "Zabbix agent 2 | Restart the agent (configuration or PSK changed)" in rotated[2]


def test_the_new_key_answers(rotated):
    reply = zabbix_request(HOST, rotated[1])
    assert reply.startswith(b"ZBXD") and reply.endswith(b"1")


def test_the_old_key_is_refused(rotated):
    assert not zabbix_request(HOST, rotated[0]).endswith(b"1")
