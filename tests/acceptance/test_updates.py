"""deploys/updates.py on every host: security updates only, unattended, in the window."""

from tests.acceptance import lab

testinfra_hosts = lab.hosts()


def test_unattended_upgrades_is_installed(host):
    assert host.package("unattended-upgrades").is_installed


def test_unattended_upgrades_run_daily(host):
    config = host.check_output("apt-config dump APT::Periodic")
    assert 'APT::Periodic::Unattended-Upgrade "1";' in config


def test_only_the_security_archive_is_taken(host):
    patterns = host.check_output("apt-config dump Unattended-Upgrade::Origins-Pattern")
    origins = [
        line
        for line in patterns.splitlines()
        if line.startswith("Unattended-Upgrade::Origins-Pattern:: ")
    ]
    assert len(origins) == 1
    assert "-security,label=Debian-Security" in origins[0]


def test_upgrades_run_in_the_maintenance_window(host):
    timer = host.check_output("systemctl cat apt-daily-upgrade.timer")
    assert "OnCalendar=*-*-* 04:00" in timer
    assert host.service("apt-daily-upgrade.timer").is_enabled


def test_a_converged_host_has_no_security_update_pending(host):
    count = host.check_output(
        "apt-get -s -o Debug::NoLocking=true dist-upgrade 2>/dev/null"
        " | awk '/^Inst .*Debian-Security/ {n++} END {print n+0}'"
    )
    assert count == "0"
