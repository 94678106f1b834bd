"""The lab's topologies: every group served, addresses unique and inside the lab's subnet."""

import pytest

from infra.settings import GROUPS
from lab.topology import BRIDGE_ADDRESS, SUBNET, TOPOLOGIES, hosts_for


@pytest.mark.parametrize("topology", sorted(TOPOLOGIES))
def test_every_platform_group_has_a_host(topology):
    groups = {group for host in hosts_for(topology) for group in host.groups}
    optional = {"monitoring", "voter", "backup"}  # Zabbix server; third vote; repository
    assert groups - optional == set(GROUPS) - optional


def test_split_has_the_optional_zabbix_server():
    assert [h.name for h in hosts_for("split") if "monitoring" in h.groups] == ["mon-1"]


@pytest.mark.parametrize("topology", sorted(TOPOLOGIES))
def test_addresses_are_unique_and_ours(topology):
    addresses = [host.address for host in hosts_for(topology)]
    assert len(set(addresses)) == len(addresses)
    assert all(a.startswith(SUBNET + ".") and a != BRIDGE_ADDRESS for a in addresses)


def test_split_matches_the_issue():
    assert {h.name: h.groups for h in hosts_for("split")} == {
        "lb-1": ["lb"],
        "app-1": ["app"],
        "app-2": ["app"],
        "data-1": ["db", "cache"],
        "mon-1": ["monitoring"],
    }


def test_hosts_spread_over_cpus():
    assert [h.cpus for h in hosts_for("split", cpu_count=2)] == ["0", "1", "0", "1", "0"]


def test_default_limits_are_2g_and_one_cpu():
    host = hosts_for("single", cpu_count=4)[0]
    assert (host.memory_mib, host.cpus) == (2048, "0")


def test_unknown_topology_is_an_error():
    with pytest.raises(ValueError, match="unknown topology"):
        hosts_for("triple")
