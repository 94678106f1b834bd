"""HAProxy's admin socket (level admin: it can drain or disable every backend) answers root
on an app host, the switch's user, and refuses the service user that runs the application."""

import shlex

import pytest

from infra.services import service_user
from infra.settings import HAProxy, Platform
from tests.acceptance import lab

# The user the application code of a service runs as (each service has its own).
SERVICE_USER = service_user(Platform().user, "broker-gateway")
APP_HOSTS = lab.names("app")
LB = lab.names("lb")[0]


def admin_socket(app_host: str) -> str:
    """socat's address of the lb's admin socket as `app_host` reaches it."""
    if app_host == LB:
        return "UNIX-CONNECT:/run/haproxy/admin.sock"
    return f"TCP:{lab.host_info(LB)['address']}:{HAProxy().admin_port}"


def show_info(app_host: str, user: str):
    command = f"echo 'show info' | socat -t 5 stdio {admin_socket(app_host)}"
    if user != "root":
        command = f"runuser -u {user} -- bash -c {shlex.quote(command)}"
    return lab.ssh(app_host, f"timeout 10 {command}")


@pytest.mark.parametrize("app_host", APP_HOSTS)
def test_root_is_admitted(app_host):
    assert "Name: HAProxy" in show_info(app_host, "root").stdout


@pytest.mark.parametrize("app_host", APP_HOSTS)
def test_the_service_user_is_refused(app_host):
    result = show_info(app_host, SERVICE_USER)
    assert "Name: HAProxy" not in result.stdout
    # refused/reset: the firewall (TCP); denied: the socket's mode (unix, on the lb itself)
    assert any(word in result.stderr for word in ("refused", "reset", "denied")), result.stderr
