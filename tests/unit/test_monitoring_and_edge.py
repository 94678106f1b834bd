"""Pure parts of deploys/zabbix.py, deploys/haproxy.py and deploys/logrotate.py."""

import re

import bcrypt
import pytest
import yaml
from pydantic import SecretStr

from deploys.haproxy import backends
from deploys.monitoring import frontend_hash
from infra.settings import DEFAULT_SERVICES, Settings
from infra.templating import render
from infra.zabbix_items import (
    PROTOTYPES,
    USER_PARAMETERS,
    backups_discovery,
    daemons_discovery,
    discovery,
    jobs_discovery,
    pgsql_discovery,
    redis_discovery,
    redis_monitor_password,
    tls_discovery,
    user_parameters_text,
)
from infra.zabbix_template import TEMPLATE_FILE, template_text


def settings_with(**versions) -> Settings:
    services = dict(DEFAULT_SERVICES)
    for name, version in versions.items():
        services[name] = services[name].model_copy(update={"version": version})
    return Settings.model_construct(services=services)


def test_committed_zabbix_template_is_generated_from_the_user_parameters():
    assert TEMPLATE_FILE.read_text() == template_text(), "run: python -m tools.zabbix_template"


# Agent 2's own keys, and the one dependent item (taken from the certificate's JSON).
AGENT_BUILT_IN = {"systemd.unit.info[*]", "vfs.file.time[*]", "web.certificate.get[*]",
                  "system.cpu.util[all,idle,avg1]"}  # fmt: skip
DEPENDENT = {"aktienanalyse.tls.not_after[*]"}


def test_template_item_keys_are_exactly_the_user_parameters_and_agent_keys():
    template = yaml.safe_load(TEMPLATE_FILE.read_text())["zabbix_export"]["templates"][0]
    keys = {item["key"] for item in template["items"]}
    for rule in template["discovery_rules"]:
        keys |= {rule["key"]} | {p["key"].split("[")[0] + "[*]" for p in rule["item_prototypes"]}
    assert keys == set(USER_PARAMETERS) | AGENT_BUILT_IN | DEPENDENT


def test_every_trigger_refers_to_an_item_of_the_template():
    template = yaml.safe_load(TEMPLATE_FILE.read_text())["zabbix_export"]["templates"][0]
    items = list(template["items"])
    for rule in template["discovery_rules"]:
        items += rule["item_prototypes"]
    for item in items:
        for trigger in item.get("triggers", []) + item.get("trigger_prototypes", []):
            assert f"/aktienanalyse platform/{item['key']}" in trigger["expression"]


def test_tls_discovery_lists_the_lb_port_only_on_lb_hosts():
    settings = Settings()
    assert tls_discovery(settings, {"lb"}) == {"data": [{"{#TLSPORT}": "8443"}]}
    assert tls_discovery(settings, {"app", "db"}) == {"data": []}


def test_backups_discovery_names_a_stamp_for_every_backup_job_and_nothing_else():
    settings = Settings()
    entries = backups_discovery(settings, {"db", "cache"})["data"]
    assert {e["{#JOB}"] for e in entries} == {
        "aktienanalyse-job-postgresql-backup-full", "aktienanalyse-job-postgresql-backup-diff",
        "aktienanalyse-job-redis-snapshot-copy",
    }  # fmt: skip
    assert all(e["{#STAMP}"].startswith("/var/lib/aktienanalyse-backup/") for e in entries)
    assert backups_discovery(settings, {"app"}) == {"data": []}


def test_parameterised_commands_refer_to_their_one_parameter_only():
    """Zabbix fills $0..$9 in a [*] command: an awk field like $2 would silently vanish."""
    for key, (command, _, _) in USER_PARAMETERS.items():
        if key.endswith("[*]"):
            assert set(re.findall(r"\$(\d)", command)) == {"1"}, key


def test_daemons_discovery_follows_the_groups():
    assert daemons_discovery({"db", "cache"}) == {
        "data": [{"{#DAEMON}": "postgresql@15-main.service"}, {"{#DAEMON}": "redis-server.service"}]
    }
    assert daemons_discovery({"app"}) == {"data": []}


def test_database_and_redis_discovery_follow_the_groups():
    settings = Settings()
    assert pgsql_discovery(settings, {"db"}) == {"data": [{"{#PGDB}": "aktienanalyse_event_store"}]}
    assert pgsql_discovery(settings, {"app"}) == {"data": []}
    assert redis_discovery({"cache"}) == {"data": [{"{#REDISPORT}": "6379"}]}
    assert redis_discovery({"db"}) == {"data": []}


def test_every_parameterised_key_has_a_prototype():
    assert {k for k in USER_PARAMETERS if k.endswith("[*]")} == {
        k for keys in PROTOTYPES.values() for k in keys
    }


def test_user_parameter_file_lists_every_key_on_a_clustered_data_host():
    """A data host of both clusters (db and cache, etcd member, Sentinel) answers every key."""
    lines = user_parameters_text(
        db_addresses=["10.0.0.31", "10.0.0.32"],
        etcd=True,
        cache_addresses=["10.0.0.31", "10.0.0.32"],
        sentinel=True,
    )
    keys = [line.split("=", 1)[1].split(",", 1)[0] for line in lines.splitlines()[1:]]
    assert keys == list(USER_PARAMETERS)


def test_the_log_items_read_the_configured_log_directory():
    text = user_parameters_text("/srv/logs/aktienanalyse")
    assert "/srv/logs/aktienanalyse/" in text and "{log_dir}" not in text


def test_discovery_lists_the_deployed_instances():
    data = discovery(settings_with(frontend="1.0.0"), True)["data"]
    assert [entry["{#UNIT}"] for entry in data] == [
        "aktienanalyse-frontend@8005.service",
        "aktienanalyse-frontend@8015.service",
    ]


def test_discovery_is_empty_off_the_app_hosts():
    assert discovery(settings_with(frontend="1.0.0"), False) == {"data": []}


def test_the_migration_is_judged_by_its_result_like_a_job():
    jobs = jobs_discovery(Settings(), {"app"}, migrates=True)["data"]
    assert {"{#JOB}": "aktienanalyse-migration"} in jobs
    assert jobs_discovery(Settings(), {"app"}, migrates=False) == {"data": []}


def test_backends_have_one_server_per_app_host_and_instance():
    services = dict(DEFAULT_SERVICES)
    services["frontend"] = services["frontend"].model_copy(update={"version": "1", "instances": 2})
    app_hosts = [("app-1", "10.0.0.21", services), ("app-2", "10.0.0.22", services)]
    result = backends(app_hosts)
    assert result["frontend"] == [
        ("app-1-8005", "10.0.0.21", 8005), ("app-1-8015", "10.0.0.21", 8015),
        ("app-2-8005", "10.0.0.22", 8005), ("app-2-8015", "10.0.0.22", 8015),
    ]  # fmt: skip
    # Every service has a backend, empty (HAProxy answers 503) until it is deployed.
    assert {name: servers for name, servers in result.items() if name != "frontend"} == {
        "event-bus": [], "intelligent-core": [], "broker-gateway": [], "monitoring": []
    }  # fmt: skip


def test_haproxy_config_checks_health_and_binds_stats_to_localhost():
    text = render(
        "/etc/haproxy/haproxy.cfg", port=8443, stats_port=8404, check_interval_ms=2000,
        ciphers=None, certificate="/c.pem", admin_address=None, internal_port=8080,
        postgresql_servers=[], redis_servers=[],
        internal_addresses=["127.0.0.1"], routes={}, public_services=[],
        backends={"frontend": [("app-1-8005", "10.0.0.21", 8005)]},
    )  # fmt: skip
    assert "bind 127.0.0.1:8404" in text and "bind :8443 ssl crt /c.pem" in text
    assert "option httpchk GET /health" in text and "http-check expect status 200" in text
    assert "server app-1-8005 10.0.0.21:8005 check" in text
    assert "ipv4@" not in text


@pytest.mark.parametrize(("interval", "fast"), [(2000, 500), (300, 300)])
def test_haproxy_checks_a_failing_or_down_server_faster(interval, fast):
    text = render(
        "/etc/haproxy/haproxy.cfg", port=8443, stats_port=8404, check_interval_ms=interval,
        ciphers=None, certificate="/c.pem", admin_address=None, internal_port=8080,
        postgresql_servers=[], redis_servers=[],
        internal_addresses=["127.0.0.1"], routes={}, public_services=[], backends={},
    )  # fmt: skip
    wanted = f"default-server inter {interval}ms fastinter {fast}ms downinter {fast}ms fall 2"
    assert f"{wanted} rise 2" in [line.strip() for line in text.splitlines()]


def test_haproxy_routes_each_service_by_its_prefix_on_both_entries():
    text = render(
        "/etc/haproxy/haproxy.cfg", port=8443, stats_port=8404, check_interval_ms=2000,
        ciphers=None, certificate="/c.pem", admin_address=None, internal_port=8080,
        postgresql_servers=[], redis_servers=[],
        internal_addresses=["127.0.0.1", "10.0.0.11"],
        routes={"intelligent-core": "/intelligent-core", "broker-gateway": "/broker-gateway"},
        public_services=["intelligent-core"],
        backends={"frontend": [], "intelligent-core": [("app-1-8001", "10.0.0.21", 8001)]},
    )  # fmt: skip
    lines = [line.strip() for line in text.splitlines()]
    assert "bind 127.0.0.1:8080" in lines and "bind 10.0.0.11:8080" in lines
    assert "acl to_intelligent_core path /intelligent-core" in lines
    assert "acl to_intelligent_core path_beg /intelligent-core/" in lines
    assert (
        "use_backend intelligent-core if to_intelligent_core { nbsrv(intelligent-core) gt 0 }"
        in lines
    )
    assert "use_backend frontend if { nbsrv(frontend) gt 0 }" in lines
    # Not public: refused on TLS, routed on the internal entry.
    assert "http-request deny deny_status 404 if { ssl_fc } to_broker_gateway" in lines
    assert not any(line.endswith("to_intelligent_core") and "deny" in line for line in lines)
    assert "http-request disable-l7-retry unless METH_GET" in lines
    core = text[text.index("backend intelligent-core") :]
    assert r"http-request replace-path ^/intelligent-core/?(.*) /\1" in core


def test_haproxy_fails_open_to_the_instances_that_accept_connections():
    """While no instance passes /health (a shared dependency paused), a route goes to the
    same instances checked by a TCP connect only, not to HAProxy's 503."""
    text = render(
        "/etc/haproxy/haproxy.cfg", port=8443, stats_port=8404, check_interval_ms=2000,
        ciphers=None, certificate="/c.pem", admin_address=None, internal_port=8080,
        postgresql_servers=[], redis_servers=[], internal_addresses=["127.0.0.1"],
        routes={"intelligent-core": "/intelligent-core"}, public_services=["intelligent-core"],
        backends={"frontend": [], "intelligent-core": [("app-1-8001", "10.0.0.21", 8001)]},
    )  # fmt: skip
    lines = [line.strip() for line in text.splitlines()]
    assert "use_backend intelligent-core-alive if to_intelligent_core" in lines
    assert "default_backend frontend-alive" in lines
    alive = text[text.index("\nbackend intelligent-core-alive") :].split("\n\n")[0]
    assert "server app-1-8001 10.0.0.21:8001 check" in alive and "httpchk" not in alive
    assert r"http-request replace-path ^/intelligent-core/?(.*) /\1" in alive


def test_logrotate_follows_the_seed_policy():
    text = render("/etc/logrotate.d/aktienanalyse", log_dir="/var/log/aktienanalyse",
                  user="aktienanalyse", group="adm")  # fmt: skip
    words = {line.strip() for line in text.splitlines()}
    assert {"daily", "rotate 30", "compress", "delaycompress", "missingok", "notifempty",
            "copytruncate", "su aktienanalyse adm"} <= words  # fmt: skip


def test_the_frontend_hash_is_phps_bcrypt_and_verifies():
    hashed = frontend_hash(SecretStr("a long enough password"))
    assert hashed.startswith("$2y$10$") and len(hashed) == 60
    assert bcrypt.checkpw(b"a long enough password", hashed.encode())


def test_the_agents_redis_password_is_derived_and_differs_from_the_admins():
    admin = SecretStr("admin-password-of-redis")
    derived = redis_monitor_password(admin).get_secret_value()
    assert re.fullmatch(r"[0-9a-f]{64}", derived)
    assert derived == redis_monitor_password(admin).get_secret_value()
    assert derived != redis_monitor_password(SecretStr("another-password")).get_secret_value()
