"""Scaling a service down and up again by settings: frontend 2 -> 1 -> 2 instances.

Down: HAProxy drops the second instance's server, then the instance is stopped (after the
lb, so no request goes to an instance that is stopping); a second run changes nothing.
Up: the instance runs and is a server again.
"""

import json

import pytest

from infra.settings import DEFAULT_SERVICES
from tests.acceptance import lab
from tools.apply import changed_operations, failed_operations, run_pyinfra

pytestmark = pytest.mark.journey("single")

APP_HOSTS = lab.names("app")
LB = lab.names("lb")[0]
SECOND = DEFAULT_SERVICES["frontend"].ports[1]  # 8015
UNIT = f"aktienanalyse-frontend@{SECOND}"
ONE_FRONTEND = {"services": {"frontend": {"instances": 1}}}


def converge(settings: dict | None = None) -> dict:
    env = {"AKTIENANALYSE_LAB_SETTINGS": json.dumps(settings)} if settings else {}
    return run_pyinfra("inventories/lab.py", env=env)


def state() -> dict:
    config = lab.ssh(LB, "cat /etc/haproxy/haproxy.cfg").stdout
    return {
        "servers": sorted(a for a in APP_HOSTS if f"server {a}-{SECOND} " in config),
        "active": sorted(
            a
            for a in APP_HOSTS
            if lab.ssh(a, f"systemctl is-active {UNIT}").stdout.strip() == "active"
        ),
    }


@pytest.fixture(scope="module")
def scaled():
    runs = {"down": converge(ONE_FRONTEND)}
    runs["down_state"] = state()
    runs["again"] = converge(ONE_FRONTEND)
    runs["up"] = converge()
    runs["up_state"] = state()
    return runs


def test_scaling_down_succeeds(scaled):
    assert (failed_operations(scaled["down"]), scaled["down"]["exit_code"]) == ([], 0)


def test_scaled_down_instance_is_neither_routed_nor_running(scaled):
    assert scaled["down_state"] == {"servers": [], "active": []}


def test_scaling_down_twice_changes_nothing(scaled):
    assert changed_operations(scaled["again"]) == []


def test_scaled_up_instance_runs_and_is_routed_again(scaled):
    assert scaled["up_state"] == {"servers": sorted(APP_HOSTS), "active": sorted(APP_HOSTS)}
