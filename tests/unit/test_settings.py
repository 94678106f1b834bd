"""Bad settings stop the run before any host is contacted, naming host, file, key and reason.

Each case is a real inventory and group_data/ in a temporary folder, loaded by pyinfra's own
loader (infra.hostdata.load_inventory), as `pyinfra` itself would load it.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from infra.hostdata import SettingsError, load_inventory
from infra.settings import DEFAULT_SERVICES, SERVICES

REPO = Path(__file__).resolve().parents[2]
GOOD_SECRETS = textwrap.dedent(
    """
    secrets = {
        "postgresql_app_password": {"env": "T_PG"},
        "redis_app_password": {"env": "T_REDIS"},
        "redis_admin_password": {"env": "T_REDIS_ADMIN"},
        "haproxy_tls_pem": {"env": "T_PEM"},
    }
    """
)


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """A folder with group_data/all.py (valid) and an inventory; tests add files to it."""
    for name in ("T_PG", "T_REDIS", "T_REDIS_ADMIN", "T_PEM"):
        monkeypatch.setenv(name, "s3cret-" + name)
    (tmp_path / "group_data").mkdir()
    (tmp_path / "group_data" / "all.py").write_text(GOOD_SECRETS)
    return tmp_path


def inventory(tree: Path, hosts: dict[str, list[str]], data: dict | None = None) -> Path:
    """Write t.py: each host in its groups, with an address and `data` as host data."""
    lines = []
    groups: dict[str, list[str]] = {}
    for number, (name, host_groups) in enumerate(hosts.items(), start=10):
        host_data = {"address": f"10.0.0.{number}", **(data or {}).get(name, {})}
        lines.append(f"_{name.replace('-', '_')} = ({name!r}, {host_data!r})")
        for group in host_groups:
            groups.setdefault(group, []).append(f"_{name.replace('-', '_')}")
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
        ["group_data/app.py", "services.broker-gateway", "port 8002 used by both"],
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
        "cache.py",
        'secrets = {"redis_app_password": {"env": "T_UNSET_VARIABLE"}}',
        ("cache",),
        ["group_data/cache.py", "secrets", "T_UNSET_VARIABLE is not set"],
    ),
    (
        "cache.py",
        'secrets = {"redis_app_password": {"file": "/nonexistent/secret"}}',
        ("cache",),
        ["group_data/cache.py", "secrets", "/nonexistent/secret does not exist"],
    ),
    (
        "cache.py",
        'secrets = {"redis_app_password": {"env": "A", "file": "/b"}}',
        ("cache",),
        ["group_data/cache.py", "secrets", "exactly one of"],
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
        ["group_data/cache.py", "redis.admin_user", "must differ"],
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
        ["group_data/app.py", "services.frontend.version: give releases.wheelhouse"],
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
def test_bad_input_is_rejected_with_file_key_and_reason(tree, file_name, content, groups,
                                                        fragments):  # fmt: skip
    message = problem(tree, file_name, content, groups)
    for fragment in fragments:
        assert fragment in message, message


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
    assert "secrets: haproxy_tls_pem: environment variable T_PEM is not set" in problem(
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
    pins = 'services = {"frontend": {"version": "1.0.0"}}\n'
    (tree / "group_data" / "app.py").write_text(pins + f'releases = {{"wheelhouse": "{wheels}"}}')
    loaded = load(tree, hosts={"lb-1": ["lb"], "app-1": ["app"], "app-2": ["app"]})
    assert loaded["app-2"].settings.services["frontend"].version == "1.0.0"
    assert loaded["lb-1"].settings.services["frontend"].version is None  # reads the app hosts'


def test_app_hosts_pinning_different_versions_are_refused(tree):
    wheels = tree / "wheels"
    wheels.mkdir()
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


def test_service_defaults_are_the_seeds():
    assert [DEFAULT_SERVICES[name].port for name in SERVICES] == [8001, 8002, 8003, 8004, 8005]
    assert [DEFAULT_SERVICES[name].memory_max for name in SERVICES] == [
        "1G", "512M", "1G", "512M", "512M"
    ]  # fmt: skip


def test_pyinfra_itself_refuses_bad_settings_before_connecting(tree):
    """The real CLI, pointed at a port on loopback that records connections: it must stop
    with the refusal and never connect."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(20)
    port = listener.getsockname()[1]
    connections = []

    def accept():
        with contextlib.suppress(OSError):
            connections.append(listener.accept())

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    (tree / "group_data" / "app.py").write_text('services = {"frontend": {"port": 70000}}')
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
    )  # fmt: skip
    listener.close()
    thread.join()
    assert run.returncode != 0
    assert "host-1: group_data/app.py: services.frontend.port" in run.stderr
    assert connections == []
