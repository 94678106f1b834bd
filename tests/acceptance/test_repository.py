"""pgBackRest's repository on the backup host (mon-1 on ha): it backs up whichever db host is
the primary, the db hosts reach it only through pgBackRest's TLS server, and nobody else
reaches it at all."""

import json

import pytest

from tests.acceptance import lab

pytestmark = [
    pytest.mark.ha,
    pytest.mark.skipif(lab.TOPOLOGY != "ha", reason="the repository host of topology ha"),
]

REPOSITORY = lab.names("backup")[0] if lab.TOPOLOGY == "ha" else ""
DB = lab.names("db")
APP = lab.names("app")[0]
PGBACKREST = "runuser -u postgres -- pgbackrest --stanza=aktienanalyse"
PORT = 8432


def info() -> dict:
    """`pgbackrest info` of the stanza, as the backup host sees it."""
    return json.loads(lab.ssh(REPOSITORY, f"{PGBACKREST} --output=json info").stdout)[0]


def address(name: str) -> str:
    return lab.host_info(name)["address"]


def test_the_repository_is_healthy():
    assert info()["status"]["message"] == "ok"


def test_the_repository_holds_a_full_backup():
    assert "full" in [backup["type"] for backup in info()["backup"]]


@pytest.mark.parametrize("host", DB)
def test_a_db_host_keeps_no_cipher_pass(host):
    assert lab.ssh(host, "grep -c cipher-pass /etc/pgbackrest.conf").stdout.strip() == "0"


@pytest.mark.parametrize("host", DB)
def test_a_db_host_archives_to_the_backup_host(host):
    text = lab.ssh(host, "cat /etc/pgbackrest.conf").stdout
    assert f"repo1-host={address(REPOSITORY)}\nrepo1-host-type=tls\n" in text


@pytest.mark.parametrize("host", [*DB, REPOSITORY])
def test_the_tls_server_runs(host):
    assert lab.ssh(host, "systemctl is-active pgbackrest.service").stdout.strip() == "active"


@pytest.mark.parametrize("host", [*DB, REPOSITORY])
def test_the_private_key_is_root_s_and_readable_by_postgres_only(host):
    found = lab.ssh(host, "stat -c '%U:%G %a' /etc/pgbackrest/tls/host.key").stdout.strip()
    assert found == "root:postgres 640"


def test_the_backup_host_runs_the_backups():
    timers = lab.ssh(REPOSITORY, "systemctl list-timers --all --no-legend 'aktienanalyse-job-*'")
    assert "aktienanalyse-job-postgresql-backup-full.timer" in timers.stdout


@pytest.mark.parametrize("host", DB)
def test_a_db_host_runs_no_backup(host):
    timers = lab.ssh(host, "systemctl list-timers --all --no-legend 'aktienanalyse-job-*'")
    assert "postgresql-backup" not in timers.stdout


# Attacks.


@pytest.mark.parametrize("server", [REPOSITORY, *DB])
def test_an_app_host_cannot_reach_a_tls_server(server):
    assert lab.tcp_connect(APP, address(server), PORT).returncode != 0


def test_a_db_host_cannot_reach_another_db_host_s_tls_server():
    assert lab.tcp_connect(DB[0], address(DB[1]), PORT).returncode != 0


def test_a_certificate_the_server_does_not_name_is_refused():
    """data-1's own, valid certificate at data-1's own server (which admits the backup host
    only): the one connection the firewall lets through that tls-server-auth must stop."""
    result = lab.ssh(DB[0], f"{PGBACKREST} --repo1-host={address(DB[0])} info")
    assert "access denied" in result.stdout + result.stderr


@pytest.mark.parametrize("host", [*DB, REPOSITORY])
def test_another_local_account_cannot_read_the_key(host):
    result = lab.ssh(host, "runuser -u nobody -- cat /etc/pgbackrest/tls/host.key")
    assert result.returncode != 0
