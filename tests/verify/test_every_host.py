"""Every host: the platform user, the Zabbix agent with PSK, the rotation policy."""

from tests.verify import targets

testinfra_hosts = targets.hosts()


def test_platform_user_exists(host):
    assert host.user("aktienanalyse").exists


def test_zabbix_agent_runs(host):
    assert host.service("zabbix-agent2").is_running


def test_zabbix_agent_is_enabled(host):
    assert host.service("zabbix-agent2").is_enabled


def test_zabbix_agent_accepts_psk_only(host):
    assert host.file("/etc/zabbix/zabbix_agent2.conf").contains("^TLSAccept=psk$")


def test_log_rotation_policy_exists(host):
    assert host.file("/etc/logrotate.d/aktienanalyse").exists
