"""Bad settings stop the run before any host is contacted, naming file, key and reason."""

from __future__ import annotations

import textwrap

import pytest

from deploys.settings import DEFAULT_SERVICES, SERVICES, load_inventory_settings

GOOD_SECRETS = textwrap.dedent(
    """
    secrets = {
        "postgresql_app_password": {"env": "T_PG"},
        "redis_app_password": {"env": "T_REDIS"},
        "redis_admin_password": {"env": "T_REDIS_ADMIN"},
    }
    """
)


@pytest.fixture
def group_data(tmp_path, monkeypatch):
    """A group_data/ directory with a valid all.py; tests add a bad file next to it."""
    for name in ("T_PG", "T_REDIS", "T_REDIS_ADMIN"):
        monkeypatch.setenv(name, "s3cret-" + name)
    directory = tmp_path / "group_data"
    directory.mkdir()
    (directory / "all.py").write_text(GOOD_SECRETS)
    return directory


def load(group_data, groups=("app",), **kwargs):
    return load_inventory_settings({"host-1": list(groups)}, "inventories/t.py", **kwargs,
                                   group_data=group_data)  # fmt: skip


def problem(group_data, file_name, text, groups=("app",)):
    (group_data / file_name).write_text(textwrap.dedent(text))
    with pytest.raises(SystemExit) as exc:
        load(group_data, groups)
    return str(exc.value)


def test_valid_settings_load(group_data):
    settings = load(group_data)["host-1"]
    assert settings.services["frontend"].port == 8005


def test_secret_values_never_print(group_data):
    settings = load(group_data)["host-1"]
    assert "s3cret" not in repr(settings) + str(settings.to_json())


BAD_INPUTS = [
    # (file, content, groups, expected fragments: file, key, reason)
    (
        "app.py",
        'system = {"timezone": 7}',
        ("app",),
        ["group_data/app.py", "system.timezone", "valid string"],
    ),
    (
        "app.py",
        'system = {"timezone": "Europe/Atlantis"}',
        ("app",),
        ["group_data/app.py", "system.timezone", "unknown time zone"],
    ),
    (
        "app.py",
        'system = {"colour": "blue"}',
        ("app",),
        ["group_data/app.py", "system.colour", "unknown setting"],
    ),
    (
        "app.py",
        'webserver = {"port": 80}',
        ("app",),
        ["group_data/app.py", "webserver", "unknown setting"],
    ),
    (
        "app.py",
        'services = {"frontend": {"port": 70000}}',
        ("app",),
        ["group_data/app.py", "services.frontend.port", "less than or equal to 65535"],
    ),
    (
        "app.py",
        'services = {"frontend": {"port": "8005"}}',
        ("app",),
        ["group_data/app.py", "services.frontend.port", "valid integer"],
    ),
    (
        "app.py",
        'services = {"backend": {"port": 8100, "memory_max": "1G", "cpu_quota": 100}}',
        ("app",),
        ["group_data/app.py", "services.backend", "intelligent-core"],
    ),
    (
        "app.py",
        'services = {"event-bus": {"instances": -2}}',
        ("app",),
        ["group_data/app.py", "services.event-bus.instances", "greater than or equal to 1"],
    ),
    (
        "app.py",
        'services = {"monitoring": {"memory_max": "lots"}}',
        ("app",),
        ["group_data/app.py", "services.monitoring.memory_max", "not a size"],
    ),
    (
        "app.py",
        'services = {"intelligent-core": {"instances": 2}}',
        ("app",),
        ["group_data/app.py", "services", "port 8002 used by both"],
    ),
    (
        "db.py",
        'operators = [{"name": "Alice Smith"}]',
        ("db",),
        ["group_data/db.py", "operators.0.name", "not a valid login name"],
    ),
    (
        "db.py",
        'operators = [{"name": "alice", "ssh_keys": ["hunter2"]}]',
        ("db",),
        ["group_data/db.py", "operators.0.ssh_keys", "not an OpenSSH public key"],
    ),
    (
        "cache.py",
        'system = {"apt_proxy": "not a url"}',
        ("cache",),
        ["group_data/cache.py", "system.apt_proxy", "URL"],
    ),
    (
        "lb.py",
        'platform = {"base_dir": "relative/dir"}',
        ("lb",),
        ["group_data/lb.py", "platform.base_dir", "absolute"],
    ),
    (
        "lb.py",
        'secrets = {"redis_app_password": {"env": "T_UNSET_VARIABLE"}}',
        ("lb",),
        ["group_data/lb.py", "secrets", "T_UNSET_VARIABLE is not set"],
    ),
    (
        "lb.py",
        'secrets = {"redis_app_password": {"file": "/nonexistent/secret"}}',
        ("lb",),
        ["group_data/lb.py", "secrets", "/nonexistent/secret does not exist"],
    ),
    (
        "lb.py",
        'secrets = {"redis_app_password": {"env": "A", "file": "/b"}}',
        ("lb",),
        ["group_data/lb.py", "secrets", "exactly one of"],
    ),
    (
        "db.py",
        'postgresql = {"overrides": {"shared buffers": "1GB"}}',
        ("db",),
        ["group_data/db.py", "postgresql.overrides", "not a PostgreSQL parameter name"],
    ),
    (
        "db.py",
        'postgresql = {"overrides": {"listen_addresses": "*"}}',
        ("db",),
        ["group_data/db.py", "postgresql.overrides", "set by the deploy"],
    ),
    (
        "db.py",
        'postgresql = {"storage": "tape"}',
        ("db",),
        ["group_data/db.py", "postgresql.storage", "'ssd' or 'hdd'"],
    ),
    (
        "db.py",
        'postgresql = {"databases": ["Robert\'); DROP TABLE students;--"]}',
        ("db",),
        ["group_data/db.py", "postgresql.databases", "not a lower-case SQL identifier"],
    ),
    (
        "cache.py",
        'redis = {"maxmemory_fraction": 1.5}',
        ("cache",),
        ["group_data/cache.py", "redis.maxmemory_fraction", "less than or equal to 0.9"],
    ),
    (
        "cache.py",
        'redis = {"save": ["every minute"]}',
        ("cache",),
        ["group_data/cache.py", "redis.save", "not '<seconds> <changes>'"],
    ),
    (
        "cache.py",
        'redis = {"app_commands": ["+@all", "flushall"]}',
        ("cache",),
        ["group_data/cache.py", "redis.app_commands", "not an ACL command rule"],
    ),
    (
        "cache.py",
        'redis = {"admin_user": "aktienanalyse"}',
        ("cache",),
        ["group_data/cache.py", "redis", "must differ"],
    ),
    (
        "app.py",
        'services = {"frontend": {"version": "latest"}}',
        ("app",),
        ["group_data/app.py", "services.frontend.version", "not a release version"],
    ),
    (
        "app.py",
        'services = {"frontend": {"version": "1.0.0", "sha256": {"x.whl": "abc"}}}',
        ("app",),
        ["group_data/app.py", "services.frontend.sha256", "not a hex sha256"],
    ),
    (
        "app.py",
        'services = {"frontend": {"version": "1.0.0"}}',
        ("app",),
        ["group_data/app.py", "give either wheelhouse or index_url to deploy frontend"],
    ),
    (
        "app.py",
        'releases = {"wheelhouse": "/nonexistent/wheels"}',
        ("app",),
        ["group_data/app.py", "releases.wheelhouse", "is not a directory"],
    ),
    (
        "app.py",
        'services = {"frontend": {"environment": {"lower": "x"}}}',
        ("app",),
        ["group_data/app.py", "services.frontend.environment", "not a variable name"],
    ),
]


@pytest.mark.parametrize(("file_name", "content", "groups", "fragments"), BAD_INPUTS,
                         ids=[f"{b[0]}:{b[1][:40]}" for b in BAD_INPUTS])  # fmt: skip
def test_bad_input_is_rejected_with_file_key_and_reason(
    group_data, file_name, content, groups, fragments
):
    message = problem(group_data, file_name, content, groups)
    for fragment in fragments:
        assert fragment in message, message


def test_missing_secret_is_rejected(group_data):
    (group_data / "all.py").write_text('secrets = {"postgresql_app_password": {"env": "T_PG"}}')
    with pytest.raises(SystemExit) as exc:
        load(group_data)
    assert "secrets missing: redis_admin_password, redis_app_password" in str(exc.value)


def test_unknown_group_is_rejected(group_data):
    with pytest.raises(SystemExit) as exc:
        load(group_data, groups=("web",))
    assert "inventories/t.py: groups: unknown group(s) ['web']" in str(exc.value)


def test_every_problem_of_every_host_is_listed(group_data):
    (group_data / "app.py").write_text('system = {"timezone": 7}\nservices = {"x": {}}')
    with pytest.raises(SystemExit) as exc:
        load_inventory_settings({"a-1": ["app"], "a-2": ["app"]}, "inv.py", group_data=group_data)
    message = str(exc.value)
    assert "a-1: group_data/app.py: system.timezone" in message
    assert "a-2: group_data/app.py: system.timezone" in message
    assert "a-2: group_data/app.py: services.x.port: Field required" in message


def test_later_layers_win_and_dicts_merge(group_data):
    (group_data / "app.py").write_text('services = {"frontend": {"instances": 2}}')
    settings = load(group_data, environment={"services": {"frontend": {"port": 9000}}})["host-1"]
    assert (settings.services["frontend"].port, settings.services["frontend"].instances) == (
        9000,
        2,
    )


def test_service_defaults_are_the_seeds():
    assert [DEFAULT_SERVICES[name].port for name in SERVICES] == [8001, 8002, 8003, 8004, 8005]
    assert [DEFAULT_SERVICES[name].memory_max for name in SERVICES] == [
        "1G", "512M", "1G", "512M", "512M"
    ]  # fmt: skip


def test_lb_hosts_need_the_tls_certificate(group_data):
    with pytest.raises(SystemExit) as exc:
        load(group_data, ("lb",))
    assert "host-1: inventories/t.py: secrets.haproxy_tls_pem: required on lb hosts" in str(
        exc.value
    )
