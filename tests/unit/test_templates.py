"""Templates render to exactly what the hosts should get."""

import subprocess

from infra.settings import Operator
from infra.templating import render


def test_sudoers_lists_only_sudo_operators():
    text = render(
        "/etc/sudoers.d/aktienanalyse-operators",
        operators=[Operator(name="alice"), Operator(name="bob", sudo=False)],
    )
    rules = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert rules == ["alice ALL=(ALL:ALL) NOPASSWD: ALL"]


def test_sudoers_without_operators_has_no_rules():
    text = render("/etc/sudoers.d/aktienanalyse-operators", operators=[])
    assert all(line.startswith("#") for line in text.splitlines() if line)


def test_apt_proxy():
    text = render("/etc/apt/apt.conf.d/01aktienanalyse-proxy", proxy="http://10.0.0.1:3142/")
    assert 'Acquire::http::Proxy "http://10.0.0.1:3142/";' in text


def test_a_redis_clusters_acl_users_may_do_only_their_part():
    from infra.redis_ha import CLUSTER_USER_RULES
    from infra.settings import Redis

    text = render("/etc/redis/users.acl", redis=Redis(), service_digests={},
                  admin_digest="b" * 64, monitor_digest="c" * 64,
                  cluster_users={u: {"digest": "e" * 64, "rules": r}
                                 for u, r in CLUSTER_USER_RULES.items()})  # fmt: skip
    users = {line.split()[1]: line.split()[2:] for line in text.splitlines()}
    assert users["replication"][2:] == ["resetkeys", "resetchannels", "-@all", "+psync",
                                        "+replconf", "+ping"]  # fmt: skip
    assert "+slaveof" in users["sentinel"] and "+@all" not in users["sentinel"]
    assert users["haproxy"][-2:] == ["+ping", "+info"]


def test_redis_acl_disables_default_and_holds_only_hashes():
    from infra.settings import Redis

    text = render("/etc/redis/users.acl", redis=Redis(),
                  service_digests={"aktienanalyse-frontend": "a" * 64,
                                   "aktienanalyse-monitoring": "d" * 64},
                  admin_digest="b" * 64, monitor_digest="c" * 64, cluster_users={})  # fmt: skip
    users = {line.split()[1]: line.split()[2:] for line in text.splitlines()}
    assert users["default"][0] == "off"
    assert users["zabbix"] == ["on", "#" + "c" * 64, "resetkeys", "resetchannels", "-@all",
                               "+info", "+ping"]  # fmt: skip
    frontend = users["aktienanalyse-frontend"]
    assert "#" + "a" * 64 in frontend and "~market:*" in frontend and "#" + "d" * 64 not in frontend
    assert frontend[-1] == "-@dangerous"


def firewall(**variables) -> str:
    """The firewall rules: no ports, peers or sockets unless given."""
    defaults = {"ports": [], "app_addresses": [], "admin_sockets": [], "instance_ports": [],
                "lb_addresses": [], "local_admin_port": None, "openings": [],
                "etcd_clients": [], "etcd_port": 2379}  # fmt: skip
    return render("/etc/nftables.d/aktienanalyse.nft", **(defaults | variables))


def test_instance_ports_admit_only_the_lb_hosts():
    text = firewall(instance_ports=[8001, 8011], lb_addresses=["10.0.0.10"])
    assert "tcp dport { 8001, 8011 } ip saddr @lb_hosts accept" in text
    assert "tcp dport { 8001, 8011 } reject with tcp reset" in text


def test_an_lb_lets_only_root_reach_its_admin_socket_over_loopback():
    text = firewall(local_admin_port=9999)
    assert 'oif "lo" tcp dport 9999 meta skuid != 0 reject with tcp reset' in text


def test_firewall_without_remote_app_hosts_only_rejects():
    text = firewall(ports=[5432], app_addresses=[], admin_sockets=[])
    assert "@app_hosts" not in text and "tcp dport { 5432 } reject with tcp reset" in text


def test_firewall_admits_app_hosts_to_the_data_ports():
    text = firewall(
        ports=[5432, 6379],
        app_addresses=["10.0.0.21"],
        admin_sockets=[],
    )
    assert "elements = { 10.0.0.21 }" in text
    assert "tcp dport { 5432, 6379 } ip saddr @app_hosts accept" in text


def test_firewall_replaces_only_its_own_table():
    text = firewall(ports=[5432], app_addresses=[], admin_sockets=[])
    assert "flush" not in text
    assert "table inet aktienanalyse\ndelete table inet aktienanalyse\n" in text


def test_an_app_host_lets_only_root_reach_the_lb_admin_socket():
    text = firewall(
        ports=[],
        app_addresses=["10.0.0.22"],
        admin_sockets=[("10.0.0.10", 9999)],
    )
    assert "chain input" not in text
    assert "ip daddr 10.0.0.10 tcp dport 9999 meta skuid != 0 reject with tcp reset" in text


def _shell_ok(text: str) -> bool:
    return subprocess.run(["sh", "-n"], input=text, text=True).returncode == 0


def test_etcd_start_joins_only_through_the_other_members():
    text = render(
        "/usr/local/sbin/aktienanalyse-etcd-start",
        name="data-2",
        peer_url="http://10.0.0.32:2380",
        others="http://10.0.0.31:2379,http://10.0.0.41:2379",
    )
    assert _shell_ok(text)
    assert "--endpoints=http://10.0.0.31:2379,http://10.0.0.41:2379 " in text


def test_patroni_enrol_waits_for_any_other_member_s_primary():
    text = render(
        "/usr/local/sbin/aktienanalyse-patroni-enrol",
        unit="patroni@15-main",
        plain_unit="postgresql@15-main",
        data_dir="/var/lib/postgresql/15/main",
        bin_dir="/usr/lib/postgresql/15/bin",
        key="/postgresql-common/15-main/initialize",
        endpoints="http://10.0.0.31:2379",
        address="10.0.0.32",
        rest_port=8008,
        start_timeout=120,
        clone_timeout=600,
        settle=4,
        config="/etc/patroni/15-main.yml",
        scope="15-main",
        name="data-2",
        members=["10.0.0.31", "10.0.0.33"],
    )
    assert _shell_ok(text)
    assert "for member in 10.0.0.31 10.0.0.33; do" in text


def test_the_redis_fence_follows_a_fallback_only_without_a_majority():
    text = render(
        "/usr/local/sbin/aktienanalyse-redis-fence",
        sentinels="10.0.0.31 10.0.0.32 10.0.0.41",
        majority=2,
        sentinel_port=26379,
        master_name="aktienanalyse",
        address="10.0.0.32",
    )
    assert _shell_ok(text)
    assert 'master="${master:-$fallback}"' in text
