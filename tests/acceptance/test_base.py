"""deploys/base.py, checked on the converged lab hosts."""

import pytest

from deploys.base import APT_PROXY_FILE, SUDOERS_FILE
from infra.operations import staging_path
from infra.services import LOG_READERS
from tests.acceptance import lab

testinfra_hosts = lab.hosts()

SETTINGS_USER = "aktienanalyse"
LAYOUT = [
    ("/opt/aktienanalyse", "root", "root", 0o755),
    ("/opt/aktienanalyse/releases", "root", "root", 0o755),
    ("/opt/aktienanalyse/current", "root", "root", 0o755),
    ("/opt/aktienanalyse/wheelhouse", "root", "root", 0o755),
    ("/etc/aktienanalyse", "root", SETTINGS_USER, 0o750),
    ("/var/log/aktienanalyse", SETTINGS_USER, LOG_READERS, 0o750),
    ("/var/lib/aktienanalyse", SETTINGS_USER, SETTINGS_USER, 0o750),
]


def test_system_user_exists(host):
    assert host.user(SETTINGS_USER).exists


def test_system_user_is_a_system_account(host):
    assert host.user(SETTINGS_USER).uid < 1000


def test_system_user_cannot_log_in(host):
    assert host.user(SETTINGS_USER).shell == "/usr/sbin/nologin"


def test_system_user_has_its_own_group(host):
    assert host.user(SETTINGS_USER).group == SETTINGS_USER


@pytest.mark.parametrize(("path", "owner", "group", "mode"), LAYOUT)
def test_directory_layout(host, path, owner, group, mode):
    directory = host.file(path)
    assert (directory.is_directory, directory.user, directory.group, directory.mode) == (
        True,
        owner,
        group,
        mode,
    )


def test_timezone_is_berlin(host):
    assert host.file("/etc/localtime").linked_to == "/usr/share/zoneinfo/Europe/Berlin"


def test_apt_uses_the_lab_cache(host):
    assert lab.MANIFEST["apt_proxy"] in host.file(APT_PROXY_FILE).content_string


def test_apt_times_out_stalled_downloads(host):
    assert 'Acquire::http::Timeout "30";' in host.file(APT_PROXY_FILE).content_string


def test_apt_reaches_packages_through_the_proxy(host):
    assert host.run("apt-get -q update").rc == 0


@pytest.mark.parametrize("package", ["sudo", "tzdata", "ca-certificates", "curl"])
def test_base_package_installed(host, package):
    assert host.package(package).is_installed


def test_operator_has_a_login_shell(host):
    assert host.user("ops").shell == "/bin/bash"


def test_operator_is_in_operators_group(host):
    assert "operators" in host.user("ops").groups


def test_sudoers_file_is_root_only(host):
    sudoers = host.file(SUDOERS_FILE)
    assert (sudoers.user, sudoers.group, sudoers.mode) == ("root", "root", 0o440)


def test_sudoers_passes_visudo(host):
    assert host.run("visudo -c").rc == 0


def test_no_staged_sudoers_left_behind(host):
    assert not host.file(staging_path(SUDOERS_FILE)).exists


def test_operator_logs_in_with_key_and_uses_sudo(host):
    name = host.backend.hostname
    result = lab.ssh(name, "sudo -n id -u", user="ops")
    assert (result.returncode, result.stdout.strip()) == (0, "0")


def test_system_user_cannot_log_in_over_ssh(host):
    result = lab.ssh(host.backend.hostname, "true", user=SETTINGS_USER)
    assert result.returncode != 0
