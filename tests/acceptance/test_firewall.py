"""deploys/firewall.py on the lab: the platform's table is loaded by its own unit, and
reloading or restarting it leaves every other nftables table alone."""

import pytest

from deploys.firewall import UNIT
from tests.acceptance import lab

testinfra_hosts = lab.hosts()  # every host loads the table (app hosts: output rules)


def tables(host) -> list[str]:
    return host.check_output("nft list tables").splitlines()


def test_the_table_is_loaded(host):
    assert "table inet aktienanalyse" in tables(host)


def test_the_unit_loads_it_at_boot(host):
    assert host.service(UNIT).is_enabled


@pytest.mark.journey
@pytest.mark.parametrize("action", ["reload", "restart"])
def test_other_tables_survive(host, action):
    host.check_output("nft add table inet operator_rules")
    try:
        host.check_output(f"systemctl {action} {UNIT}")
        assert {"table inet operator_rules", "table inet aktienanalyse"} <= set(tables(host))
    finally:
        host.run("nft delete table inet operator_rules")


@pytest.mark.parametrize(
    ("key", "value"),
    [("net.ipv4.conf.all.accept_redirects", "0"), ("net.ipv4.conf.all.send_redirects", "0"),
     ("net.ipv4.conf.all.accept_source_route", "0"), ("net.ipv4.conf.all.rp_filter", "1"),
     ("net.ipv4.conf.all.log_martians", "1")],
)  # fmt: skip
def test_the_unit_loads_the_network_sysctl(host, key, value):
    assert host.check_output(f"sysctl -n {key}") == value


def test_the_unit_rates_3_or_lower(host):
    line = host.check_output(f"systemd-analyze security {UNIT} | tail -1")
    assert float(line.split(":")[1].split()[0]) <= 3
