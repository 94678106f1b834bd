"""Bad settings stop the run before any host is contacted, naming host, file, key and reason.

Each case is a real inventory and group_data/ in a temporary folder, loaded by pyinfra's own
loader (infra.hostdata.load_inventory), as `pyinfra` itself would load it.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
from collections import Counter
from pathlib import Path

import pytest

from infra.hostdata import SettingsError, load_inventory
from infra.settings import DEFAULT_SERVICES, SERVICES

REPO = Path(__file__).resolve().parents[2]
GOOD_SECRETS = textwrap.dedent(
    """
    secrets = {
        "postgresql_app_password": {"env": "T_PG"},
        "pgbackrest_cipher_pass": {"env": "T_CIPHER"},
        "redis_app_password": {"env": "T_REDIS"},
        "redis_admin_password": {"env": "T_REDIS_ADMIN"},
        "haproxy_tls_pem": {"env": "T_PEM"},
        "zabbix_tls_pem": {"env": "T_ZABBIX_PEM"},
    }
    """
)


def _pem() -> str:
    """A valid self-signed certificate and its key (lb hosts refuse anything else)."""
    from datetime import UTC, datetime

    from tests.unit.test_certificates import certificate_pem, ec, key_pem

    key = ec.generate_private_key(ec.SECP256R1())
    days = (datetime(2027, 6, 1, tzinfo=UTC) - datetime.now(UTC)).days + 3650
    return certificate_pem(key, days) + key_pem(key)


PEM = _pem()
ZABBIX_PEM = _pem()


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """A folder with group_data/all.py (valid) and an inventory; tests add files to it."""
    for name in ("T_PG", "T_REDIS", "T_REDIS_ADMIN", "T_CIPHER"):
        monkeypatch.setenv(name, f"s3cret-{name}-long-enough")
    monkeypatch.setenv("T_PEM", PEM)
    monkeypatch.setenv("T_ZABBIX_PEM", ZABBIX_PEM)
    (tmp_path / "group_data").mkdir()
    (tmp_path / "group_data" / "all.py").write_text(GOOD_SECRETS)
    return tmp_path


def inventory(tree: Path, hosts: dict[str, list[str]], data: dict | None = None) -> Path:
    """Write t.py: each host in its groups, with an address and `data` as host data."""
    lines = []
    groups: dict[str, list[str]] = {}
    for number, (name, host_groups) in enumerate(hosts.items(), start=10):
        host_data = {"address": f"10.0.0.{number}", "ssh_strict_host_key_checking": "yes",
                     **(data or {}).get(name, {})}  # fmt: skip
        lines.append(f"_h{number} = ({name!r}, {host_data!r})")
        for group in host_groups:
            groups.setdefault(group, []).append(f"_h{number}")
    lines += [f"{group} = [{', '.join(members)}]" for group, members in groups.items()]
    path = tree / "t.py"
    path.write_text("\n".join(lines) + "\n")
    return path


def load(tree, groups=("app", "db", "cache"), hosts=None, data=None):
    return load_inventory(inventory(tree, hosts or {"host-1": list(groups)}, data), cwd=tree)


def problem(tree, file_name, text, groups=("app", "db", "cache"), hosts=None, data=None) -> str:
    if file_name:
        (tree / "group_data" / file_name).write_text(textwrap.dedent(text))
    with pytest.raises(SettingsError) as exc:
        load(tree, groups, hosts, data)
    return str(exc.value)


def test_valid_settings_load(tree):
    settings = load(tree)["host-1"].settings
    assert settings.services["frontend"].port == 8005


def test_secret_values_never_print(tree):
    settings = load(tree)["host-1"].settings
    assert "s3cret" not in repr(settings) + str(settings.model_dump(mode="json"))


INDEX = 'releases = {"index_url": "https://pypi.example/simple"}\n'
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHh1eKf0C9hdLnn4G0DdJ4bVMQjCNbwGhJ5S/7y7LxHd x@y"
PAYLOAD = "PWNED"  # every hostile value carries it; no message may repeat it

# One case a row: (class, file, content, groups, fragments the message must hold).
# Each is refused before contact; the message names file and key, and repeats no value.
# fmt: off
BAD_INPUTS = [
    # -- types and typos
    ("type", "app.py", 'system = {"timezone": 7}', "app", ["system.timezone", "valid string"]),
    ("type", "app.py", 'system = {"timezone": "Europe/Atlantis"}', "app", ["system.timezone", "unknown time zone"]),
    ("type", "app.py", 'system = {"colour": "blue"}', "app", ["system.colour", "unknown setting"]),
    ("type", "app.py", 'webserver = {"port": 80}', "app", ["webserver", "unknown setting"]),
    ("type", "app.py", "servics = {}", "app", ["servics", "unknown setting"]),
    ("type", "app.py", 'services = {"frontend": {"port": "8005"}}', "app", ["services.frontend.port", "valid integer"]),
    ("type", "app.py", 'services = {"frontend": {"instances": 2.0}}', "app", ["services.frontend.instances", "valid integer"]),
    ("type", "app.py", 'services = {"backend": {"port": 8100, "memory_max": "1G", "cpu_quota": 100}}', "app", ["services.backend", "intelligent-core"]),
    ("type", "app.py", 'services = {"event-bus": {"instances": -2}}', "app", ["services.event-bus.instances", "greater than or equal to 1"]),
    ("type", "app.py", 'services = ["frontend"]', "app", ["services", "valid dictionary"]),
    ("type", "db.py", 'postgresql = {"storage": "tape"}', "db", ["postgresql.storage", "'ssd' or 'hdd'"]),
    ("type", "db.py", 'postgresql = {"max_connections": "100"}', "db", ["postgresql.max_connections", "valid integer"]),
    ("type", "cache.py", 'redis = {"appendonly": "yes"}', "cache", ["redis.appendonly", "valid boolean"]),
    ("type", "cache.py", 'redis = {"maxmemory_policy": "allkeys_lru"}', "cache", ["redis.maxmemory_policy", "allkeys-lru"]),
    ("type", "lb.py", 'haproxy = {"check_interval_ms": 10}', "lb", ["haproxy.check_interval_ms", "greater than or equal to 100"]),
    ("type", "all.py", 'operators = {"name": "alice"}', "app", ["operators", "valid list"]),
    # -- wrong units and sizes
    ("size", "app.py", 'services = {"monitoring": {"memory_max": "lots"}}', "app", ["services.monitoring.memory_max", "not a size"]),
    ("size", "app.py", 'services = {"monitoring": {"memory_max": "512K"}}', "app", ["services.monitoring.memory_max", "between 64M and 1024G"]),
    ("size", "app.py", 'services = {"monitoring": {"memory_max": "512MB"}}', "app", ["services.monitoring.memory_max", "not a size"]),
    ("size", "app.py", 'services = {"monitoring": {"memory_max": "99999999999G"}}', "app", ["services.monitoring.memory_max", "not a size"]),
    ("size", "app.py", 'services = {"monitoring": {"memory_max": "2048G"}}', "app", ["services.monitoring.memory_max", "between 64M and 1024G"]),
    ("size", "app.py", 'services = {"monitoring": {"memory_max": "1g"}}', "app", ["services.monitoring.memory_max", "not a size"]),
    ("size", "cache.py", 'redis = {"maxmemory_cap": "1K"}', "cache", ["redis.maxmemory_cap", "between 64M and 1024G"]),
    ("size", "cache.py", 'redis = {"maxmemory_cap": "1gb"}', "cache", ["redis.maxmemory_cap", "not a size"]),
    ("size", "cache.py", 'redis = {"maxmemory_fraction": 1.5}', "cache", ["redis.maxmemory_fraction", "less than or equal to 0.9"]),
    ("size", "app.py", 'services = {"frontend": {"cpu_quota": 0}}', "app", ["services.frontend.cpu_quota", "greater than or equal to 1"]),
    ("size", "app.py", 'releases = {"health_timeout": 3600}', "app", ["releases.health_timeout", "less than or equal to 600"]),
    ("size", "app.py", 'releases = {"keep": 1}', "app", ["releases.keep", "greater than or equal to 2"]),
    ("size", "lb.py", 'haproxy = {"certificate_min_days": -1}', "lb", ["haproxy.certificate_min_days", "greater than or equal to 0"]),
    ("size", "lb.py", 'haproxy = {"certificate_min_days": "14"}', "lb", ["haproxy.certificate_min_days", "valid integer"]),
    # -- ports
    ("port", "app.py", 'services = {"frontend": {"port": 70000}}', "app", ["services.frontend.port", "less than or equal to 65535"]),
    ("port", "app.py", 'services = {"frontend": {"port": 80}}', "app", ["services.frontend.port", "greater than or equal to 1024"]),
    ("port", "app.py", 'services = {"monitoring": {"port": 8011}}', "app", ["services.monitoring", "port 8011 is also intelligent-core's"]),
    ("port", "app.py", 'services = {"intelligent-core": {"port": 7995, "instances": 2}}', "app", ["services.frontend", "port 8005 is also"]),
    ("port", "app.py", 'services = {"frontend": {"port": 5432}}', "app", ["services.frontend", "port 5432 is also PostgreSQL's"]),
    ("port", "app.py", 'services = {"frontend": {"port": 6379}}', "app", ["services.frontend", "port 6379 is also Redis'"]),
    ("port", "app.py", 'services = {"frontend": {"port": 8443}}', "app", ["services.frontend", "port 8443 is also HAProxy's (port)"]),
    ("port", "app.py", 'services = {"frontend": {"port": 8404}}', "app", ["services.frontend", "port 8404 is also HAProxy's (stats_port)"]),
    ("port", "app.py", 'services = {"frontend": {"port": 10050}}', "app", ["services.frontend", "the Zabbix agent's"]),
    ("port", "app.py", 'services = {"frontend": {"port": 65535, "instances": 2}}', "app", ["services.frontend.instances", "pass 65535"]),
    ("port", "lb.py", 'haproxy = {"stats_port": 8443}', "lb", ["haproxy.stats_port", "port 8443 is HAProxy's (port)"]),
    ("port", "lb.py", 'haproxy = {"admin_port": 10050}', "lb", ["haproxy.admin_port", "port 10050 is the Zabbix agent's"]),
    ("port", "lb.py", 'haproxy = {"internal_port": 8443}', "lb", ["haproxy.internal_port", "port 8443 is HAProxy's (port)"]),
    ("port", "lb.py", 'haproxy = {"internal_port": 5432}', "lb", ["haproxy.internal_port", "PostgreSQL's"]),
    ("type", "lb.py", 'haproxy = {"public_services": ["frontend"]}', "lb", ["haproxy.public_services", "Input should be"]),
    ("type", "lb.py", 'haproxy = {"public_services": "broker-gateway"}', "lb", ["haproxy.public_services", "valid list"]),
    # -- names and accounts
    ("account", "db.py", 'operators = [{"name": "Alice Smith"}]', "db", ["operators.0.name", "not a login name"]),
    ("account", "db.py", 'operators = [{"name": "backup"}]', "db", ["operators.0.name", "system account"]),
    ("account", "db.py", 'operators = [{"name": "nobody"}]', "db", ["operators.0.name", "system account"]),
    ("account", "db.py", 'operators = [{"name": "root"}]', "db", ["operators.0.name", "system account"]),
    ("account", "db.py", 'operators = [{"name": "alice"}, {"name": "alice"}]', "db", ["operators", "unique"]),
    ("account", "all.py", 'platform = {"user": "root"}', "app", ["platform.user", "system account"]),
    ("account", "all.py", 'platform = {"user": "www-data"}', "app", ["platform.user", "system account"]),
    ("account", "all.py", 'platform = {"user": "aktien$(id)PWNED"}', "app", ["platform.user", "not a login name"]),
    ("account", "cache.py", 'redis = {"admin_user": "aktienanalyse"}', "cache", ["redis.admin_user", "must differ"]),
    ("account", "cache.py", 'redis = {"app_user": "default"}', "cache", ["redis.app_user", "not a usable ACL"]),
    ("account", "db.py", 'postgresql = {"app_role": "Stock-Analysis"}', "db", ["postgresql.app_role", "not a lower-case SQL identifier"]),
    ("account", "db.py", 'postgresql = {"databases": ["Robert\'); DROP TABLE students;--PWNED"]}', "db", ["postgresql.databases", "not a lower-case SQL identifier"]),
    ("account", "db.py", 'postgresql = {"extensions": ["pg_stat_statements; DROP PWNED"]}', "db", ["postgresql.extensions", "not a lower-case SQL identifier"]),
    # -- SSH keys
    ("ssh", "db.py", 'operators = [{"name": "alice", "ssh_keys": ["hunter2 PWNED"]}]', "db", ["operators.0.ssh_keys.0", "not an OpenSSH public key"]),
    ("ssh", "db.py", f'operators = [{{"name": "alice", "ssh_keys": ["{KEY[:60]}"]}}]', "db", ["operators.0.ssh_keys.0", "truncated or damaged"]),
    ("ssh", "db.py", 'operators = [{"name": "alice", "ssh_keys": ["ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIHh1eKf0C9hdLnn4G0DdJ4bVMQjCNbwGhJ5S/7y7LxHd"]}]', "db", ["operators.0.ssh_keys.0", "truncated or damaged"]),
    ("ssh", "db.py", f'operators = [{{"name": "alice", "ssh_keys": ["{KEY}\\ncommand=PWNED"]}}]', "db", ["operators.0.ssh_keys.0", "control or invisible character"]),
    # -- paths
    ("path", "lb.py", 'platform = {"base_dir": "relative/dir"}', "lb", ["platform.base_dir", "absolute path"]),
    ("path", "all.py", 'platform = {"base_dir": "/opt/x; rm -rf / #PWNED"}', "app", ["platform.base_dir", "absolute path"]),
    ("path", "all.py", 'platform = {"base_dir": "/opt/$(touch /PWNED)"}', "app", ["platform.base_dir", "absolute path"]),
    ("path", "all.py", 'platform = {"config_dir": "/etc/"}', "app", ["platform.config_dir", "below one of"]),
    ("path", "all.py", 'platform = {"config_dir": "/etc/ssh"}', "app", ["platform.config_dir", "the platform's own directory"]),
    ("path", "all.py", 'platform = {"log_dir": "/var/log"}', "app", ["platform.log_dir", "below one of"]),
    ("path", "all.py", 'platform = {"log_dir": "/var/log/aktien\\nUser=root"}', "app", ["platform.log_dir", "control or invisible"]),
    ("path", "all.py", 'platform = {"state_dir": "/var/lib/../../etc/PWNED"}', "app", ["platform.state_dir", "absolute path"]),
    ("path", "all.py", 'platform = {"base_dir": "/usr/local/aktienanalyse"}', "app", ["platform.base_dir", "below one of"]),
    ("path", "all.py", 'platform = {"base_dir": "/opt/aktienanalyse", "state_dir": "/opt/aktienanalyse/state"}', "app", ["platform", "must not contain each other"]),
    ("path", "app.py", 'releases = {"wheelhouse": "/nonexistent/wheels"}', "app", ["releases.wheelhouse", "is not a directory"]),
    ("path", "app.py", 'releases = {"wheelhouse": ""}', "app", ["releases.wheelhouse", "not the repository"]),
    ("path", "app.py", 'releases = {"wheelhouse": "."}', "app", ["releases.wheelhouse", "not the repository"]),
    # -- URLs and hosts
    ("url", "cache.py", 'system = {"apt_proxy": "not a url"}', "cache", ["system.apt_proxy", "URL"]),
    ("url", "app.py", 'releases = {"index_url": "http://$(touch PWNED).example/simple"}', "app", ["releases.index_url"]),
    ("url", "app.py", 'releases = {"index_url": "https://pypi.example/simple;id"}', "app", ["releases.index_url", "characters a URL here may not have"]),
    ("url", "app.py", 'releases = {"index_url": "ftp://pypi.example/simple"}', "app", ["releases.index_url", "URL scheme"]),
    ("url", "all.py", 'zabbix = {"server": ["zabbix.example PWNED"]}', "app", ["zabbix.server"]),
    ("url", "all.py", 'zabbix = {"server_active": "10.1.1.103\\nAllowKey=system.run[*]PWNED"}', "app", ["zabbix.server_active"]),
    ("url", "all.py", 'zabbix = {"server_active": "10.1.1.103:99999"}', "app", ["zabbix.server_active", "not host:port"]),
    # -- config syntax
    ("syntax", "lb.py", 'haproxy = {"ciphers": "HIGH\\n    stats socket /tmp/PWNED level admin"}', "lb", ["haproxy.ciphers", "control or invisible"]),
    ("syntax", "lb.py", 'haproxy = {"ciphers": "HIGH #PWNED"}', "lb", ["haproxy.ciphers", "not an OpenSSL cipher list"]),
    ("syntax", "app.py", 'services = {"frontend": {"environment": {"LOG": "a\\nExecStartPre=/bin/PWNED"}}}', "app", ["services.frontend.environment.LOG", "control or invisible character"]),
    ("syntax", "app.py", 'services = {"frontend": {"environment": {"lower": "x"}}}', "app", ["services.frontend.environment", "not an environment variable name"]),
    ("syntax", "app.py", 'services = {"frontend": {"environment": {"AKTIENANALYSE_DB_HOST": "x"}}}', "app", ["services.frontend.environment", "the deploy's"]),
    ("syntax", "db.py", 'postgresql = {"overrides": {"shared buffers": "1GB"}}', "db", ["postgresql.overrides", "not a PostgreSQL parameter name"]),
    ("syntax", "db.py", 'postgresql = {"overrides": {"work_mem": "8MB\\nlisten_addresses = \'*\'"}}', "db", ["postgresql.overrides.work_mem", "control or invisible character"]),
    ("syntax", "db.py", 'postgresql = {"overrides": {"listen_addresses": "*"}}', "db", ["postgresql.overrides", "set by the deploy"]),
    ("syntax", "db.py", 'postgresql = {"overrides": {"max_connections": 5000}}', "db", ["postgresql.overrides", "max_connections is set by the deploy (or its own setting)"]),
    ("syntax", "cache.py", 'redis = {"save": ["every minute"]}', "cache", ["redis.save", "not '<seconds> <changes>'"]),
    ("syntax", "cache.py", 'redis = {"app_key_patterns": ["market:* ~* +@all"]}', "cache", ["redis.app_key_patterns", "a pattern is empty"]),
    ("syntax", "all.py", 'system = {"packages": ["curl; PWNED"]}', "app", ["system.packages.0", "should match pattern"]),
    # -- least privilege
    ("privilege", "cache.py", 'redis = {"app_commands": ["+@all"]}', "cache", ["redis.app_commands", "grants more"]),
    ("privilege", "cache.py", 'redis = {"app_commands": ["+@read", "+config"]}', "cache", ["redis.app_commands", "grants more"]),
    ("privilege", "cache.py", 'redis = {"app_commands": ["+@admin"]}', "cache", ["redis.app_commands", "grants more"]),
    ("privilege", "cache.py", 'redis = {"app_commands": ["+flushall"]}', "cache", ["redis.app_commands", "grants more"]),
    ("privilege", "cache.py", 'redis = {"app_commands": ["+@read +@all"]}', "cache", ["redis.app_commands", "not an ACL command rule"]),
    # -- releases
    ("release", "app.py", 'services = {"frontend": {"version": "latest"}}', "app", ["services.frontend.version", "not a PEP 440 release version"]),
    ("release", "app.py", 'services = {"frontend": {"version": "1.0.0; PWNED"}}', "app", ["services.frontend.version", "not a PEP 440"]),
    ("release", "app.py", 'services = {"frontend": {"version": "v1.0"}}', "app", ["services.frontend.version", "not written as pip writes it"]),
    ("release", "app.py", 'services = {"frontend": {"version": "1.0.0", "sha256": {"x.whl": "abc"}}}', "app", ["services.frontend.sha256", "not a wheel file name"]),
    ("release", "app.py", 'services = {"frontend": {"version": "1.0.0", "sha256": {"aktienanalyse_frontend-1.0.0-py3-none-any.whl": "abc"}}}', "app", ["services.frontend.sha256", "not a hex sha256"]),
    ("release", "app.py", 'services = {"frontend": {"version": "1.0.0"}}', "app", ["services.frontend.version: give releases.wheelhouse"]),
    ("release", "app.py", 'releases = {"index_url": "http://10.0.0.5:8080/simple/"}\nservices = {"frontend": {"version": "1.0.0"}}', "app", ["services.frontend.sha256", "plain http"]),
    # -- secrets
    ("secret", "app.py", 'services = {"broker-gateway": {"version": "1.0.0", "secrets": {"API_KEY": {"env": "T_UNSET_VARIABLE"}}}}', "app", ["services.broker-gateway.secrets", "API_KEY", "T_UNSET_VARIABLE is not set"]),
    ("secret", "app.py", 'services = {"broker-gateway": {"version": "1.0.0", "secrets": {"API_KEY": {"env": "T_TWO_LINES"}}}}', "app", ["services.broker-gateway.secrets", "one line"]),
    ("secret", "app.py", 'services = {"broker-gateway": {"secrets": {"api key": {"env": "T_SHORT"}}}}', "app", ["services.broker-gateway.secrets", "not an environment variable name"]),
    ("secret", "app.py", 'services = {"broker-gateway": {"secrets": {"AKTIENANALYSE_DB_PASSWORD": {"env": "T_SHORT"}}}}', "app", ["services.broker-gateway.secrets", "wheel contract"]),
    ("secret", "app.py", 'services = {"broker-gateway": {"secrets": {"API_KEY": "hunter2-PWNED"}}}', "app", ["services.broker-gateway.secrets", "API_KEY"]),
    ("secret", "monitoring.py", 'secrets = {"zabbix_admin_password": {"env": "T_LONG"}}', "monitoring", ["secrets.zabbix_admin_password", "longer than 72 bytes"]),
    ("secret", "monitoring.py", 'secrets = {"zabbix_admin_password": {"env": "T_SHORT"}}', "monitoring", ["secrets.zabbix_admin_password", "shorter than 16"]),
    ("secret", "app.py", 'services = {"broker-gateway": {"environment": {"API_KEY": "x"}, "secrets": {"API_KEY": {"env": "T_SHORT"}}}}', "app", ["services.broker-gateway", "both in environment and in secrets"]),
    ("secret", "cache.py", 'secrets = {"redis_app_password": {"env": "T_UNSET_VARIABLE"}}', "cache", ["secrets", "T_UNSET_VARIABLE is not set"]),
    ("secret", "cache.py", 'secrets = {"redis_app_password": {"env": "T_BLANK"}}', "cache", ["secrets", "T_BLANK is not set or empty"]),
    ("secret", "cache.py", 'secrets = {"redis_app_password": {"file": "/nonexistent/secret"}}', "cache", ["secrets", "/nonexistent/secret does not exist"]),
    ("secret", "cache.py", 'secrets = {"redis_app_password": {"env": "A", "file": "/b"}}', "cache", ["secrets", "exactly one of"]),
    ("secret", "cache.py", 'secrets = {"redis_app_password": "hunter2-PWNED"}', "cache", ["secrets"]),
    ("secret", "cache.py", 'secrets = {"redis_app_password": {"env": "$(PWNED)"}}', "cache", ["secrets", "should match pattern"]),
    ("secret", "cache.py", 'secrets = {"redis_pasword": {"env": "T_REDIS"}}', "cache", ["secrets"]),
    ("secret", "db.py", 'secrets = {"postgresql_app_password": {"env": "T_TWO_LINES"}}', "db", ["secrets.postgresql_app_password", "one line"]),
    ("secret", "db.py", 'secrets = {"postgresql_app_password": {"env": "T_SASLPREP"}}', "db", ["secrets.postgresql_app_password", "SASLprep", "forbidden"]),
    # -- backups, jobs, updates (issue I)
    ("backup", "db.py", 'backup = {"full_schedule": "Sun 25:00"}', "db", ["backup.full_schedule", "systemd rejects"]),
    ("backup", "db.py", 'backup = {"diff_schedule": "daily\\n[Service]"}', "db", ["backup.diff_schedule"]),
    ("backup", "db.py", 'backup = {"retention_full": 0}', "db", ["backup.retention_full", "greater than or equal to 1"]),
    ("backup", "db.py", 'backup = {"path": "/var/lib/postgresql/backup"}', "db", ["backup.path", "PostgreSQL's data directory"]),
    ("backup", "db.py", 'backup = {"path": "/etc/backup"}', "db", ["backup.path", "must be below"]),
    ("backup", "db.py", 'secrets = {"postgresql_app_password": {"env": "T_PG"}}', "db", ["secrets.pgbackrest_cipher_pass", "required on db hosts"]),
    ("job", "db.py", 'jobs = {"x": {"schedule": "daily", "run_as": "postgres", "command": ["vacuumdb; rm"]}}', "db", ["jobs.x.command", "plain name or an absolute path"]),
    ("job", "db.py", 'jobs = {"x": {"schedule": "Mon 24:00", "run_as": "postgres", "command": ["vacuumdb"]}}', "db", ["jobs.x.schedule", "systemd rejects"]),
    ("job", "db.py", 'jobs = {"x": {"schedule": "daily", "run_as": "root", "command": ["id"]}}', "db", ["jobs.x.run_as"]),
    ("job", "db.py", 'jobs = {"../x": {"schedule": "daily", "run_as": "postgres", "command": ["id"]}}', "db", ["jobs"]),
    ("job", "db.py", 'jobs = {"x": {"schedule": "daily", "run_as": "postgres", "command": []}}', "db", ["jobs.x.command", "at least 1"]),
    ("updates", "all.py", 'updates = {"window": "%h 04:00"}', "db", ["updates.window", "may hold only"]),
    ("updates", "all.py", 'updates = {"enabled": "yes"}', "db", ["updates.enabled", "valid boolean"]),
    ("updates", "all.py", 'updates = {"window": "04:00; reboot"}', "db", ["updates.window"]),
    # -- found by an adversarial pass
    ("adversarial", "db.py", 'postgresql = {"app_role": "stock_analysis\\n"}', "db", ["postgresql", "control or invisible"]),
    ("adversarial", "all.py", 'platform = {"config_dir": "/etc/ssl/private"}', "app", ["platform.config_dir", "platform's own directory"]),
    ("adversarial", "all.py", 'platform = {"state_dir": "/etc/cron.hourly"}', "app", ["platform.state_dir", "platform's own directory"]),
    ("adversarial", "db.py", 'postgresql = {"app_role": "postgres"}', "db", ["postgresql.app_role", "the cluster itself owns"]),
    ("adversarial", "db.py", 'postgresql = {"databases": ["template1"]}', "db", ["postgresql.databases", "the cluster itself owns"]),
    ("adversarial", "db.py", 'postgresql = {"overrides": {"archive_command": "curl x | sh PWNED"}}', "db", ["postgresql.overrides", "not among the parameters an override may set"]),
    ("adversarial", "db.py", 'postgresql = {"overrides": {"ssl": "off"}}', "db", ["postgresql.overrides", "weaken security"]),
    *(("adversarial", "db.py", f'postgresql = {{"overrides": {{"{name}": "on"}}}}', "db", ["postgresql.overrides", "not among the parameters"])
      for name in ("lo_compat_privileges", "session_replication_role", "row_security", "jit_provider",
                   "logging_collector", "log_filename", "log_file_mode", "huge_pages")),
    *(("adversarial", "lb.py", f'haproxy = {{"ciphers": "{ciphers}"}}', "lb", ["haproxy.ciphers", reason])
      for ciphers, reason in (("DEFAULT@SECLEVEL=0", "security level"), ("NULL-SHA256", "without encryption"),
                              ("AECDH-AES256-SHA", "without encryption"), ("AES128-SHA", "forward secrecy"))),
    ("adversarial", "all.py", 'platform = {"user": "shadow"}', "app", ["platform.user", "system account"]),
    ("adversarial", "all.py", 'operators = [{"name": "aktienanalyse"}]', "app", ["operators", "the platform's user"]),
    ("adversarial", "all.py", '_shell_executable = "sh -c PWNED"', "app", ["_shell_executable", "unknown setting"]),
    ("adversarial", "all.py", '_ignore_errors = True', "app", ["_ignore_errors", "unknown setting"]),
    ("adversarial", "all.py", 'system = {"apt_proxy": "http://user:PWNED@10.0.0.1:3142"}', "app", ["system.apt_proxy", "holds credentials"]),
    ("adversarial", "lb.py", 'haproxy = {"ciphers": "aNULL:eNULL:@SECLEVEL=0"}', "lb", ["haproxy.ciphers", "security level"]),
    ("adversarial", "all.py", 'zabbix = {"server": ["fe80::1%1"]}', "app", ["zabbix.server"]),
    ("adversarial", "app.py", 'services = {"frontend": {"environment": {"A": "x\u2028ExecStartPre=PWNED"}}}', "app", ["services.frontend.environment.A", "control or invisible"]),
    ("adversarial", "db.py", 'postgresql = {"overrides": {"work_mem\u200b": "8MB"}}', "db", ["postgresql.overrides", "control or invisible"]),
    ("adversarial", "cache.py", 'secrets = {"redis_app_password": {"env": "T_SHORT"}, "redis_admin_password": {"env": "T_REDIS_ADMIN"}}', "cache", ["secrets.redis_app_password", "shorter than 16"]),
    ("adversarial", "cache.py", 'secrets = {"redis_app_password": {"env": "T_REDIS_ADMIN"}, "redis_admin_password": {"env": "T_REDIS_ADMIN"}}', "cache", ["secrets.redis_admin_password: must differ from secrets.redis_app_password"]),
    ("adversarial", "all.py", 'secrets = {"redis_pasword": {"env": "T_REDIS"}}', "app", ["secrets", "unknown secret"]),
    ("adversarial", "all.py", 'zabbix = {"server_active": "10.1.1.103:\uff11\uff10\uff10\uff15\uff11"}', "app", ["zabbix.server_active", "not host:port"]),
    ("adversarial", "app.py", 'services = {"frontend": {"version": "1.0.0", "sha256": {"requests-2.0-py3-none-any.whl": "' + "0" * 64 + '"}}}', "app", ["services.frontend.sha256", "no wheel of the service itself"]),
    # -- a secret's value pasted where its reference goes: refused naming the key, never the value
    ("pasted", "cache.py", 'secrets = {"redis_app_password": {"env": "hunter2-PWNED-password"}}', "cache", ["secrets.redis_app_password: ", "should match pattern"]),
    ("pasted", "cache.py", 'secrets = {"redis_app_password": {"file": "s3cr3t-PWNED"}}', "cache", ["secrets.redis_app_password: file must be an absolute path"]),
    ("pasted", "cache.py", 'secrets = {"redis_app_password": {"file": "~/PWNED"}}', "cache", ["secrets.redis_app_password: file must be an absolute path"]),
    ("pasted", "cache.py", 'secrets = {"redis_app_password": {"env": "T_TWO_LINES"}, "redis_admin_password": {"env": "T_REDIS_ADMIN"}}', "cache", ["secrets.redis_app_password: a password is one line"]),
    ("pasted", "app.py", 'services = {"broker-gateway": {"secrets": {"API_KEY": {"file": "PWNED-api-key"}}}}', "app", ["services.broker-gateway.secrets.API_KEY: file must be an absolute path"]),
    ("pasted", "app.py", 'services = {"broker-gateway": {"secrets": {"API_KEY": {"env": "sk_live PWNED"}}}}', "app", ["services.broker-gateway.secrets.API_KEY: ", "should match pattern"]),
    # -- one value for two secrets (compared resolved, never shown)
    ("reused", "all.py", GOOD_SECRETS.replace("T_PG", "T_REDIS"), ("db", "cache"), ["secrets.redis_app_password: must differ from secrets.postgresql_app_password"]),
    ("reused", "all.py", GOOD_SECRETS.replace("T_CIPHER", "T_PG"), "db", ["secrets.pgbackrest_cipher_pass: must differ from secrets.postgresql_app_password"]),
    ("reused", "app.py", INDEX + 'services = {"broker-gateway": {"version": "1.0.0", "secrets": {"API_KEY": {"env": "T_REDIS_ADMIN"}}}}', ("app", "cache"), ["services.broker-gateway.secrets.API_KEY: must differ from secrets.redis_admin_password"]),
    ("reused", "app.py", 'secrets = {"zabbix_admin_password": {"env": "T_PG"}, "zabbix_tls_pem": {"env": "T_ZABBIX_PEM"}}\n' + INDEX + 'services = {"monitoring": {"version": "1.0.0", "secrets": {"TOKEN": {"env": "T_PG"}}}}', ("app", "monitoring"), ["services.monitoring.secrets.TOKEN: must differ from secrets.zabbix_admin_password"]),
    # -- look-alike (non-ASCII, IDN) host names
    ("idn", "all.py", 'system = {"apt_proxy": "http://\u0430pt.example:3142/PWNED"}', "app", ["system.apt_proxy", "non-ASCII"]),
    ("idn", "app.py", 'releases = {"index_url": "https://xn--pyp-tma.example/PWNED"}', "app", ["releases.index_url", "internationalised (xn--) host name"]),
    ("idn", "app.py", 'releases = {"index_url": "https://\uff50ypi.example/PWNED"}', "app", ["releases.index_url", "non-ASCII"]),
    ("idn", "all.py", 'zabbix = {"server_active": "z\u0430bbix.example:10051"}', "app", ["zabbix.server_active", "non-ASCII"]),
    ("idn", "all.py", 'zabbix = {"server_active": "XN--zbbix-gra.example"}', "app", ["zabbix.server_active", "internationalised"]),
    # -- names the deploys make themselves (accounts, job units, directories)
    ("namespace", "db.py", 'jobs = {"postgresql-backup-full": {"schedule": "daily", "run_as": "postgres", "command": ["vacuumdb"]}}', "db", ["jobs.postgresql-backup-full: is a job the deploy makes"]),
    ("namespace", "cache.py", 'jobs = {"redis-snapshot-copy": {"schedule": "daily", "run_as": "postgres", "command": ["id"]}}', "cache", ["jobs.redis-snapshot-copy: is a job the deploy makes"]),
    ("namespace", "all.py", 'operators = [{"name": "aktienanalyse-frontend"}]', "app", ["operators.0.name: is the service user of frontend"]),
    ("namespace", "all.py", 'platform = {"user": "ops"}\noperators = [{"name": "alice"}, {"name": "ops-broker-gateway"}]', "app", ["operators.1.name: is the service user of broker-gateway"]),
    ("namespace", "all.py", 'operators = [{"name": "aktienanalyse-logs"}]', "app", ["operators.0.name", "system account"]),
    ("namespace", "db.py", 'platform = {"base_dir": "/srv/aktienanalyse"}\nbackup = {"path": "/srv/aktienanalyse/backup"}', "db", ["backup.path: holds or is inside platform.base_dir"]),
    ("namespace", "db.py", 'platform = {"base_dir": "/srv/aktienanalyse/base"}\nbackup = {"path": "/srv/aktienanalyse"}', "db", ["backup.path: holds or is inside platform.base_dir"]),
    ("namespace", "db.py", 'platform = {"state_dir": "/srv/aktienanalyse-state"}\nbackup = {"path": "/srv/aktienanalyse-state"}', "db", ["backup.path: holds or is inside platform.state_dir"]),
    ("namespace", "all.py", 'platform = {"state_dir": "/var/lib/aktienanalyse-backup"}', "db", ["platform.state_dir: holds or is inside /var/lib/aktienanalyse-backup"]),
    # -- Python mistakes in group data: the file (and line), one line, no traceback
    ("python", "app.py", 'services = {"frontend": frontend_settings}', "app", ["group_data/app.py:1: NameError"]),
    ("python", "app.py", 'x = 1\nservices = {"frontend": {"port": 8005 + "1"}}', "app", ["group_data/app.py:2: TypeError"]),
    ("python", "app.py", 'def _port():\n    return 8005 // 0\nservices = {"frontend": {"port": _port()}}', "app", ["group_data/app.py:2: ZeroDivisionError"]),
    ("python", "app.py", 'services = {"frontend": {"port": 8005}', "app", ["group_data/app.py:1: ", "never closed"]),
    ("python", "cache.py", 'secrets = ["redis_app_password"]', "cache", ["secrets: Input should be a valid dictionary"]),
    ("python", "all.py", 'system = {"packages": {"curl", "less"}}', "app", ["system.packages: not a setting value"]),
    ("python", "app.py", 'from pathlib import Path\nreleases = {"wheelhouse": Path("/srv/wheels")}', "app", ["releases.wheelhouse: not a setting value"]),
    ("python", "app.py", 'services = {"frontend": {"environment": {("A", "B"): "x"}}}', "app", ["services.frontend.environment: not a setting value"]),
    ("python", "app.py", '_helper = lambda: 1', "app", ["_helper: not a setting value"]),
]
# fmt: on
BAD_INPUTS = [
    (c, f, t, g if isinstance(g, tuple) else (g,), [f"group_data/{f}", *x])
    for c, f, t, g, x in BAD_INPUTS
]  # fmt: skip


@pytest.mark.parametrize(("kind", "file_name", "content", "groups", "fragments"), BAD_INPUTS,
                         ids=[f"{b[0]}:{b[2][:50]}" for b in BAD_INPUTS])  # fmt: skip
def test_bad_input_is_refused_naming_file_key_and_reason(tree, kind, file_name, content, groups,
                                                         fragments, monkeypatch):  # fmt: skip
    monkeypatch.setenv("T_BLANK", "   ")
    monkeypatch.setenv("T_SHORT", "short")
    monkeypatch.setenv("T_LONG", "long-PWNED-" * 8)
    monkeypatch.setenv("T_TWO_LINES", "first-line-of-PWNED\nsecond-line-of-PWNED")
    monkeypatch.setenv("T_SASLPREP", "private-use-\ue000-PWNED-long-enough")
    message = problem(tree, file_name, content, groups)
    for fragment in fragments:
        assert fragment in message, message
    assert PAYLOAD not in message and "s3cret" not in message, message
    assert "Traceback" not in message and "input_value" not in message, message


def test_a_zabbix_server_may_not_share_a_host_with_the_database(tree):
    message = problem(tree, None, "", groups=("db", "monitoring"))
    assert "monitoring and db on one host" in message, message


def test_the_corpus_covers_every_class_with_enough_cases():
    kinds = Counter(case[0] for case in BAD_INPUTS)
    assert len(BAD_INPUTS) >= 60 and min(kinds.values()) >= 3, kinds


def test_a_secret_file_others_can_read_is_refused(tree):
    secret = tree / "pw"
    secret.write_text("s3cret-file")
    secret.chmod(0o644)
    content = f'secrets = {{"redis_app_password": {{"file": "{secret}"}}}}'
    message = problem(tree, "cache.py", content, ("cache",))
    assert f"secret file {secret} has mode 0644" in message and "s3cret" not in message


def test_a_secret_file_of_mode_0600_is_read_stripped(tree):
    secret = tree / "pw"
    secret.write_text("  s3cret-file-long-enough\n")
    secret.chmod(0o600)
    (tree / "group_data" / "cache.py").write_text(
        f'secrets = {{"redis_app_password": {{"file": "{secret}"}}, '
        '"redis_admin_password": {"env": "T_REDIS_ADMIN"}}'
    )
    settings = load(tree, ("cache",))["host-1"].settings
    assert settings.secrets["redis_app_password"].get_secret_value() == "s3cret-file-long-enough"


def test_a_valid_ssh_key_and_harmless_values_are_accepted(tree):
    (tree / "group_data" / "app.py").write_text(
        f'operators = [{{"name": "alice", "ssh_keys": ["{KEY}"]}}]\n'
        'services = {"frontend": {"environment": {"GREETING": "50% \\"quoted\\" \\\\ ok"}}}\n'
    )
    settings = load(tree, ("app",))["host-1"].settings
    assert settings.services["frontend"].environment["GREETING"] == '50% "quoted" \\ ok'


def test_a_missing_secret_is_refused_on_the_group_that_needs_it(tree):
    (tree / "group_data" / "all.py").write_text(
        'secrets = {"postgresql_app_password": {"env": "T_PG"}}'
    )
    message = problem(tree, None, "", groups=("cache",))
    assert "host-1: group_data/all.py: secrets.redis_app_password: required on cache hosts" in (
        message
    )


def test_a_secret_no_group_of_the_host_needs_is_not_resolved(tree, monkeypatch):
    monkeypatch.delenv("T_PEM")
    assert "haproxy_tls_pem" not in load(tree, groups=("app",))["host-1"].settings.secrets


def test_lb_hosts_need_the_tls_certificate(tree, monkeypatch):
    monkeypatch.delenv("T_PEM")
    assert "secrets.haproxy_tls_pem: environment variable T_PEM is not set" in problem(
        tree, None, "", groups=("lb",)
    )


def test_an_unknown_group_is_refused(tree):
    message = problem(tree, None, "", groups=("web",))
    assert "t.py (host host-1): groups: unknown group(s) web" in message


def test_an_unknown_top_level_setting_is_refused(tree):
    message = problem(tree, "app.py", 'servics = {"frontend": {"version": "1.0.0"}}')
    assert "host-1: group_data/app.py: servics: unknown setting" in message


def test_every_problem_of_every_host_is_listed(tree):
    message = problem(tree, "app.py", 'system = {"timezone": 7}\nservices = {"x": {}}',
                      hosts={"a-1": ["app"], "a-2": ["app"]})  # fmt: skip
    assert "a-1: group_data/app.py: system.timezone" in message
    assert "a-2: group_data/app.py: system.timezone" in message
    assert "a-2: group_data/app.py: services.x" in message


def test_a_group_file_replaces_a_section_of_all_whole(tree):
    """pyinfra's precedence: group data over all.py, a top-level name replaced whole."""
    (tree / "group_data" / "all.py").write_text(
        GOOD_SECRETS + 'system = {"timezone": "UTC", "packages": ["sudo"]}\n'
    )
    (tree / "group_data" / "app.py").write_text('system = {"timezone": "Europe/Berlin"}')
    system = load(tree, groups=("app",))["host-1"].settings.system
    assert (system.timezone, "curl" in system.packages) == ("Europe/Berlin", True)


def test_host_data_wins_over_group_data(tree):
    (tree / "group_data" / "app.py").write_text('system = {"timezone": "Europe/Berlin"}')
    loaded = load(tree, groups=("app",), data={"host-1": {"system": {"timezone": "UTC"}}})
    assert loaded["host-1"].settings.system.timezone == "UTC"


def test_two_groups_setting_one_section_differently_are_refused(tree):
    (tree / "group_data" / "app.py").write_text('system = {"timezone": "Europe/Berlin"}')
    (tree / "group_data" / "db.py").write_text('system = {"timezone": "UTC"}')
    message = problem(tree, None, "", groups=("app", "db"))
    assert "group_data/db.py and group_data/app.py: system: set differently" in message


def test_versions_pinned_for_the_app_group_reach_the_lb(tree):
    wheels = tree / "wheels"
    wheels.mkdir()
    (wheels / "aktienanalyse_frontend-1.0.0-py3-none-any.whl").write_text("")
    pins = 'services = {"frontend": {"version": "1.0.0"}}\n'
    (tree / "group_data" / "app.py").write_text(pins + f'releases = {{"wheelhouse": "{wheels}"}}')
    loaded = load(tree, hosts={"lb-1": ["lb"], "app-1": ["app"], "app-2": ["app"]})
    assert loaded["app-2"].settings.services["frontend"].version == "1.0.0"
    assert loaded["lb-1"].settings.services["frontend"].version is None  # reads the app hosts'


def test_app_hosts_pinning_different_versions_are_refused(tree):
    wheels = tree / "wheels"
    wheels.mkdir()
    (wheels / "aktienanalyse_frontend-1.0.0-py3-none-any.whl").write_text("")
    (tree / "group_data" / "app.py").write_text(f'releases = {{"wheelhouse": "{wheels}"}}')
    data = {name: {"services": {"frontend": {"version": version}}}
            for name, version in (("app-1", "1.0.0"), ("app-2", "1.1.0"))}  # fmt: skip
    message = problem(tree, None, "", hosts={"app-1": ["app"], "app-2": ["app"]}, data=data)
    assert "app-1 (" in message and "app-2 (" in message
    assert "services.frontend.version: hosts disagree" in message


def test_lb_and_app_hosts_disagreeing_on_the_admin_port_are_refused(tree):
    (tree / "group_data" / "app.py").write_text('haproxy = {"admin_port": 9000}')
    (tree / "group_data" / "lb.py").write_text('haproxy = {"admin_port": 9999}')
    message = problem(tree, None, "", hosts={"lb-1": ["lb"], "app-1": ["app"]})
    assert "lb-1 (group_data/lb.py) and app-1 (group_data/app.py): haproxy.admin_port" in message


def test_hosts_referencing_one_secret_differently_are_refused(tree):
    data = {"app-1": {"secrets": {"postgresql_app_password": {"env": "T_REDIS"}}}}
    message = problem(tree, None, "", hosts={"db-1": ["db"], "app-1": ["app"]}, data=data)
    assert "secrets.postgresql_app_password: hosts reference different sources" in message


def test_two_hosts_with_one_address_are_refused(tree):
    data = {"b-1": {"address": "10.0.0.10"}}
    message = problem(tree, None, "", hosts={"a-1": ["app"], "b-1": ["app"]}, data=data)
    assert "t.py (host b-1)): address: two hosts with one address" in message


def test_a_certificate_that_is_not_one_is_refused_without_showing_it(tree, monkeypatch):
    monkeypatch.setenv("T_PEM", "s3cret-not-a-pem")
    message = problem(tree, None, "", groups=("lb",))
    assert "secrets.haproxy_tls_pem: holds no PEM certificate" in message
    assert "s3cret" not in message


def test_a_secret_pasted_into_an_ordinary_setting_is_refused_without_showing_it(tree):
    content = 'services = {"frontend": {"environment": {"API_KEY": "s3cret-T_PG-long-enough"}}}'
    message = problem(tree, "app.py", content)
    assert "group_data/app.py: services.frontend.environment.API_KEY: holds a secret's value" in (
        message
    )
    assert "s3cret" not in message


def test_a_group_data_file_for_no_known_group_is_refused(tree):
    message = problem(tree, "ap.py", 'services = {"frontend": {"version": "1.0.0"}}')
    assert "group_data/ap.py: ap: no such group" in message


def test_a_host_name_that_is_not_a_host_name_is_refused(tree):
    message = problem(tree, None, "", hosts={"app-1;PWNED$(id)": ["app"]})
    assert "host name: use letters, digits" in message


def test_switching_off_host_key_checking_is_refused(tree):
    data = {"host-1": {"ssh_strict_host_key_checking": "no"}}
    message = problem(tree, None, "", data=data)
    assert "t.py (host host-1): ssh_strict_host_key_checking: must be" in message


def test_service_defaults_are_the_seeds():
    assert [DEFAULT_SERVICES[name].port for name in SERVICES] == [8001, 8002, 8003, 8004, 8005]
    assert [DEFAULT_SERVICES[name].memory_max for name in SERVICES] == [
        "1G", "512M", "1G", "512M", "512M"
    ]  # fmt: skip


# systemd-analyze answering after 1 s, refusing "daily" (valid for systemd: only this one says no)
SLOW_CHECKER = '#!/bin/sh\nsleep 1\n[ "$3" != daily ]\n'


@pytest.mark.parametrize(
    ("group_file", "expected"),
    [
        ('services = {"frontend": {"port": 70000}}', "services.frontend.port"),
        ('backup = {"full_schedule": "daily"}', "backup.full_schedule"),  # the check yields
    ],
    ids=["instant check", "slow checker"],
)
def test_pyinfra_itself_refuses_bad_settings_before_connecting(tree, group_file, expected):
    """The real CLI, pointed at a port on loopback that records connections: it must stop
    with the refusal and never connect, even when a check shells out to a slow program."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(20)
    port = listener.getsockname()[1]
    connections = []

    def accept():
        with contextlib.suppress(OSError):
            connections.append(listener.accept())

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    (tree / "group_data" / "app.py").write_text(group_file)
    bin_dir = tree / "bin"
    bin_dir.mkdir()
    (bin_dir / "systemd-analyze").write_text(SLOW_CHECKER)
    (bin_dir / "systemd-analyze").chmod(0o755)
    data = {"host-1": {"ssh_hostname": "127.0.0.1", "ssh_port": port}}
    path = inventory(tree, {"host-1": ["app"]}, data)
    path.write_text(
        "import sys\nsys.path.insert(0, " + json.dumps(str(REPO)) + ")\n"
        "from infra.hostdata import check_before_connecting\n"
        "check_before_connecting(__file__)\n" + path.read_text()
    )
    (tree / "deploy.py").write_text("raise SystemExit('the deploy file ran')\n")
    run = subprocess.run(
        [sys.executable, "-m", "pyinfra", str(path), "deploy.py", "-y"],
        cwd=tree, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"},
    )  # fmt: skip
    listener.close()
    thread.join()
    assert run.returncode != 0
    assert f"host-1: group_data/app.py: {expected}" in run.stderr
    assert connections == []


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("0.0.0.0", "not a host's address"),
        ("10.0.0.1%0", "not an IP address"),
        ("2001:db8::10", "write an IPv4 address as dotted decimal"),
        (167772161, "not an IP address"),
    ],
)
def test_an_address_other_hosts_cannot_use_is_refused(tree, address, reason):
    message = problem(tree, None, "", data={"host-1": {"address": address}})
    assert f"t.py (host host-1): address: {reason}" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("services = {\n", "group_data/app.py:1: '{' was never closed"),
        ("import os\nservices = os.environ['T_NOT_SET']\n", "KeyError: 'T_NOT_SET'"),
    ],
    ids=["syntax error", "raises"],
)
def test_a_group_data_file_that_fails_to_load_is_one_line(tree, text, expected):
    message = problem(tree, "app.py", text)
    assert expected in message and "Traceback" not in message and len(message.splitlines()) == 1


def test_connecting_as_an_operator_without_sudo_is_refused(tree):
    data = {"host-1": {"ssh_user": "deploy", "_sudo": True}}
    (tree / "group_data" / "app.py").write_text(
        f"operators = [{{'name': 'deploy', 'ssh_keys': [{KEY!r}], 'sudo': False}}]\n"
    )
    message = problem(tree, None, "", data=data)
    assert "host-1: group_data/app.py: operators: pyinfra connects as deploy" in message


def test_connecting_as_a_user_no_operator_is_refused(tree):
    message = problem(tree, None, "", data={"host-1": {"ssh_user": "deploy", "_sudo": True}})
    assert "operators: pyinfra connects as deploy" in message and "ssh_user" in message


def test_an_undeployed_service_secret_is_not_resolved():
    """A reference may be prepared before the service gets a version: not resolved yet."""
    from infra.settings import Settings

    data = {"services": {"broker-gateway": {"secrets": {"API_KEY": {"env": "T_UNSET_VARIABLE"}}}}}
    settings = Settings.model_validate(data, context={"groups": ("app",)})
    assert settings.services["broker-gateway"].secrets["API_KEY"].get_secret_value() == ""


def test_a_secret_pasted_as_its_reference_is_refused_without_showing_it(tree):
    """pydantic's own rendering would repeat the input (input_value=...); a refusal never."""
    for ref in ('{"env": "hunter2-this-is-the-password"}', '{"file": "s3cr3t-value"}'):
        message = problem(tree, "cache.py", f'secrets = {{"redis_app_password": {ref}}}',
                          ("cache",))  # fmt: skip
        assert "group_data/cache.py: secrets.redis_app_password: " in message, message
        assert "hunter2" not in message and "s3cr3t" not in message, message


def test_a_platform_secret_reused_on_another_host_is_refused_without_showing_it(tree):
    """db-1 resolves the PostgreSQL password, cache-1 the Redis ones: compared across hosts."""
    (tree / "group_data" / "all.py").write_text(GOOD_SECRETS.replace("T_PG", "T_REDIS_ADMIN"))
    message = problem(tree, None, "", hosts={"db-1": ["db"], "cache-1": ["cache"]})
    assert ("cache-1: group_data/all.py: secrets.redis_admin_password: must differ from "
            "secrets.postgresql_app_password") in message, message  # fmt: skip
    assert "s3cret" not in message


def test_services_may_share_a_value_of_their_own(tree, monkeypatch):
    monkeypatch.setenv("T_JWT", "a-jwt-secret-both-services-verify")
    services = {name: {"version": "1.0.0", "secrets": {"JWT_SECRET": {"env": "T_JWT"}}}
                for name in ("frontend", "broker-gateway")}  # fmt: skip
    (tree / "group_data" / "app.py").write_text(f"{INDEX}services = {services!r}")
    load(tree, ("app",))


@pytest.mark.parametrize("group", ["db", "cache", "lb", "app"])
@pytest.mark.parametrize("address", ["127.0.0.1", "127.8.0.1"])
def test_a_loopback_address_other_hosts_must_reach_is_refused(tree, group, address):
    hosts = {"peer-1": ["app", "db", "cache", "lb"], "host-1": [group]}
    if group == "lb":
        hosts = {"peer-1": ["app"], "host-1": ["lb"]}
    message = problem(tree, None, "", hosts=hosts, data={"host-1": {"address": address}})
    assert "t.py (host host-1): address: a loopback address" in message, message
    assert address not in message


def test_a_loopback_address_of_a_single_host_is_accepted(tree):
    load(tree, data={"host-1": {"address": "127.0.0.1"}})


def _wheelhouse(tree: Path) -> Path:
    wheels = tree / "wheels"
    wheels.mkdir()
    (wheels / "aktienanalyse_frontend-1.0.0-py3-none-any.whl").write_text("")
    return wheels


def _link_out(wheels: Path) -> None:
    (wheels / "x-1.0-py3-none-any.whl").symlink_to("/etc/passwd")


def _link_to_a_wheel_elsewhere(wheels: Path) -> None:
    (wheels.parent / "elsewhere.whl").write_text("")
    (wheels / "y-1.0-py3-none-any.whl").symlink_to(wheels.parent / "elsewhere.whl")


def _directory(wheels: Path) -> None:
    (wheels / "z-1.0-py3-none-any.whl").mkdir()


def _fifo(wheels: Path) -> None:
    import os

    os.mkfifo(wheels / "f-1.0-py3-none-any.whl")


def _stamp_link(wheels: Path) -> None:
    (wheels / ".stamp").symlink_to("/etc/hostname")


@pytest.mark.parametrize("make", [_link_out, _link_to_a_wheel_elsewhere, _directory, _fifo,
                                  _stamp_link])  # fmt: skip
def test_a_wheelhouse_entry_that_is_no_file_of_its_own_is_refused(tree, make):
    wheels = _wheelhouse(tree)
    make(wheels)
    message = problem(tree, "app.py", f'releases = {{"wheelhouse": "{wheels}"}}', ("app",))
    assert "group_data/app.py: releases.wheelhouse: holds a link leading out" in message, message
    assert "-1.0-py3" not in message and "/etc/" not in message


def test_a_link_inside_the_wheelhouse_is_accepted(tree):
    wheels = _wheelhouse(tree)
    (wheels / "aktienanalyse_frontend-1.0.0-py3-none-any.whl").rename(wheels / "real.whl")
    (wheels / "aktienanalyse_frontend-1.0.0-py3-none-any.whl").symlink_to("real.whl")
    (tree / "group_data" / "app.py").write_text(f'releases = {{"wheelhouse": "{wheels}"}}')
    load(tree, ("app",))


HOST = '("host-1", {"address": "10.0.0.10", "ssh_strict_host_key_checking": "yes"})'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('app = [("host-1", {"address": "10.0.0.10"}, 3)]', "t.py: app.0: a host is a name or"),
        ('app = [("host-1",)]', "t.py: app.0: a host is a name or"),
        ('app = [("host-1", "10.0.0.10")]', "t.py: app.0: a host is a name or"),
        ('app = [["host-1", {"address": "10.0.0.10"}]]', "t.py: app.0: a host is a name or"),
        ('app = [("host-1", {3: 4})]', "t.py: app.0: a host is a name or"),
        ("app = [1]", "t.py: app.0: a host is a name or"),
        ('app = "host-1"', "t.py: app: a group is a list of hosts"),
        (f'app = ([{HOST}], {{"system": {{}}}})', "t.py: app: a group is a list of hosts"),
        ("app = None", "t.py: app: a group is a list of hosts"),
        (f'app = [{HOST}]\ndb = [("host-1", {{"address": "10.0.0.11"}})]',
         "t.py: host-1: address: two values in the host's entries"),
        (f"app = [{HOST}]\ncache = undefined_group", "t.py:2: NameError"),
        (f"app = [{HOST}]\ndb = app[3]", "t.py:2: IndexError"),
        ('app = [("host-1", {"address": "10.0.0.10", "ssh_strict_host_key_checking": "yes", '
         '"system": {"packages": {"curl"}}})]',
         "t.py (host host-1): system.packages: not a setting value"),
    ],
)  # fmt: skip
def test_an_inventory_pyinfra_would_misread_is_refused_naming_the_file(tree, text, expected):
    (tree / "t.py").write_text(text + "\n")
    with pytest.raises(SettingsError) as exc:
        load_inventory(tree / "t.py", cwd=tree)
    message = str(exc.value)
    assert expected in message and "Traceback" not in message, message
    assert "10.0.0.1" not in message
