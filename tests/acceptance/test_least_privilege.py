"""Least privilege, tried as an attacker would: a daemon's account plants a link where root
writes our configuration on the next converge, and fails."""

from __future__ import annotations

import shlex
import socket

import pytest

from deploys.postgresql import DROP_IN, HBA_FILE
from deploys.redis import ACL_FILE, CONFIG_FILE
from infra.operations import staging_path
from infra.services import secrets_file, service_user
from infra.settings import HAProxy, Platform
from tests.acceptance import lab

# (group whose host has the file, the account that runs the daemon reading it, the file)
WRITTEN_BY_ROOT = [
    ("cache", "redis", CONFIG_FILE),
    ("cache", "redis", ACL_FILE),
    ("db", "postgres", DROP_IN),
    ("db", "postgres", HBA_FILE),
]
TARGET = "/etc/systemd/system"  # what a planted link would hand over


def as_user(group: str, user: str, command: str):
    return lab.ssh(lab.names(group)[0], f"runuser -u {user} -- sh -c {shlex.quote(command)}")


def cases():
    return [
        pytest.param(group, user, path, id=f"{user}:{path}")
        for group, user, path in WRITTEN_BY_ROOT
        if lab.names(group)
    ]


@pytest.mark.parametrize(("group", "user", "path"), cases())
def test_daemon_cannot_plant_a_link_at_the_staged_path(group, user, path):
    result = as_user(group, user, f"ln -s {TARGET} {shlex.quote(staging_path(path))}")
    assert result.returncode != 0
    assert "Permission denied" in result.stderr


@pytest.mark.parametrize(("group", "user", "path"), cases())
def test_daemon_cannot_replace_anything_beside_the_live_file(group, user, path):
    directory = path.rsplit("/", 1)[0]
    result = as_user(group, user, f"ln -s {TARGET} {shlex.quote(directory + '/planted')}")
    assert result.returncode != 0
    assert "Permission denied" in result.stderr


@pytest.mark.parametrize(("group", "user", "path"), cases())
def test_daemon_cannot_rename_the_live_file(group, user, path):
    result = as_user(group, user, f"mv {shlex.quote(path)} {shlex.quote(path + '.old')}")
    assert result.returncode != 0


# --- The service instances' ports: only the lb hosts (and the app host itself) reach them ---

APP = lab.names("app")[0]
APP_ADDRESS = lab.host_info(APP)["address"]
INSTANCE_PORT = lab.PORTS["intelligent-core"]


def test_the_bridge_cannot_reach_an_instance_port():
    with pytest.raises(OSError):
        socket.create_connection((APP_ADDRESS, INSTANCE_PORT), timeout=5).close()


@pytest.mark.parametrize(
    "client", [name for name in lab.names() if name != APP and name not in lab.names("lb")]
)
def test_a_host_outside_the_lb_group_cannot_reach_an_instance_port(client):
    assert lab.tcp_connect(client, APP_ADDRESS, INSTANCE_PORT).returncode != 0


@pytest.mark.parametrize("lb", [name for name in lab.names("lb") if name != APP])
def test_the_lb_reaches_an_instance_port(lb):
    assert lab.tcp_connect(lb, APP_ADDRESS, INSTANCE_PORT).returncode == 0


def admin_connect(lb: str, user: str):
    """Connect to the lb's TCP admin socket from the lb itself (over loopback) as `user`."""
    address, port = lab.host_info(lb)["address"], HAProxy().admin_port
    command = f"timeout 5 bash -c 'exec 3<>/dev/tcp/{address}/{port}'"
    return lab.ssh(lb, f"runuser -u {user} -- {command}")


# The TCP admin socket exists where other app hosts drain through it.
LBS_WITH_ADMIN_PORT = lab.names("lb") if len(lab.names("app")) > 1 else []


@pytest.mark.parametrize("lb", LBS_WITH_ADMIN_PORT)
def test_root_on_the_lb_reaches_its_admin_socket(lb):
    assert admin_connect(lb, "root").returncode == 0


@pytest.mark.parametrize("lb", LBS_WITH_ADMIN_PORT)
def test_another_user_on_the_lb_cannot_reach_its_admin_socket_over_loopback(lb):
    assert admin_connect(lb, "nobody").returncode != 0


# --- Secrets never on a command line: sudo logs every command pyinfra runs ---


@pytest.mark.parametrize(
    ("group", "marker"),
    [("db", "SCRAM-SHA-256$"), ("monitoring", "$2y$")],  # a verifier, a bcrypt hash
    ids=["db", "monitoring"],
)
def test_no_password_or_hash_reached_sudos_log(group, marker):
    if not lab.names(group):
        pytest.skip(f"no {group} host in this topology")
    logged = lab.ssh(lab.names(group)[0], "journalctl -q -o cat _COMM=sudo").stdout
    assert "COMMAND=" in logged  # sudo does log the converge's commands
    assert marker not in logged


# --- One service cannot use another's credentials ---

CONFIG_DIR = Platform().config_dir


@pytest.mark.parametrize("app_host", lab.names("app"))
def test_the_frontends_user_cannot_read_the_brokers_credentials(app_host):
    frontend = service_user(Platform().user, "frontend")
    broker_file = secrets_file(CONFIG_DIR, "broker-gateway")
    result = lab.ssh(app_host, f"runuser -u {frontend} -- cat {broker_file}")
    assert result.returncode != 0 and "Permission denied" in result.stderr


@pytest.mark.parametrize("app_host", lab.names("app"))
def test_the_shared_environment_file_holds_no_credentials(app_host):
    shared = lab.ssh(app_host, f"cat {CONFIG_DIR}/production.env").stdout
    assert "AKTIENANALYSE_DB_HOST" in shared
    assert "PASSWORD" not in shared and "_USER=" not in shared
