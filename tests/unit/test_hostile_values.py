"""No string setting can carry a control character (a newline ends a line in every config
file the deploys write), and what may pass reaches files only escaped for them.

The walk starts from a complete example of the settings, every list and dict filled, and puts
a newline into each string in turn, keys included: each must be refused.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from infra.settings import Platform, Settings
from infra.templating import render

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHh1eKf0C9hdLnn4G0DdJ4bVMQjCNbwGhJ5S/7y7LxHd x@y"
WHEEL = "aktienanalyse_frontend-1.0.0-py3-none-any.whl"
EXAMPLE: dict[str, Any] = {
    "system": {"timezone": "Europe/Berlin", "apt_proxy": "http://10.0.0.1:3142",
               "packages": ["curl"]},
    "platform": {"user": "aktienanalyse", "base_dir": "/opt/aktienanalyse",
                 "config_dir": "/etc/aktienanalyse", "log_dir": "/var/log/aktienanalyse",
                 "state_dir": "/var/lib/aktienanalyse"},
    "operators": [{"name": "alice", "ssh_keys": [KEY]}],
    "services": {"frontend": {"version": "1.0.0", "memory_max": "512M",
                              "environment": {"LOG_LEVEL": "info"},
                              "sha256": {WHEEL: "0" * 64}}},
    "releases": {"index_url": "https://pypi.example/simple"},
    "haproxy": {"ciphers": "ECDHE-RSA-AES128-GCM-SHA256"},
    "zabbix": {"server": ["10.1.1.103"], "server_active": "10.1.1.103:10051"},
    "postgresql": {"overrides": {"work_mem": "8MB"}, "app_role": "stock_analysis",
                   "databases": ["aktienanalyse_event_store"], "extensions": ["pg_trgm"]},
    "backup": {"path": "/srv/backup", "full_schedule": "Sun *-*-* 01:30",
               "diff_schedule": "Mon..Sat *-*-* 01:30", "redis_schedule": "hourly"},
    "jobs": {"cache-cleanup": {"schedule": "daily", "run_as": "frontend",
                               "command": ["aktienanalyse-frontend", "cache-cleanup", "--all"]}},
    "updates": {"window": "*-*-* 04:00"},
    "machine": {"memory": "2048M", "cpus": 1},
    "redis": {"maxmemory_cap": "1G", "save": ["900 1"], "app_user": "aktienanalyse",
              "app_key_patterns": ["market:*"], "app_channel_patterns": ["events:*"],
              "app_commands": ["+@read"], "admin_user": "admin"},
}  # fmt: skip


def string_paths(node: Any, path: tuple = ()) -> Iterator[tuple[tuple, bool]]:
    """(path, is_key) of every string in `node`, dict keys included."""
    if isinstance(node, dict):
        for key, value in node.items():
            if path:  # section names are the model's own
                yield (*path, key), True
            yield from string_paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from string_paths(value, (*path, index))
    elif isinstance(node, str):
        yield path, False


def with_newline(path: tuple, is_key: bool) -> dict:
    data = copy.deepcopy(EXAMPLE)
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    if is_key:
        parent[f"{path[-1]}\nPWNED"] = parent.pop(path[-1])
    else:
        parent[path[-1]] = f"{parent[path[-1]]}\nPWNED=1"
    return data


def test_the_example_itself_is_valid():
    Settings.model_validate(EXAMPLE)


PATHS = list(string_paths(EXAMPLE))


IDS = [".".join(map(str, path)) + (" (key)" if is_key else "") for path, is_key in PATHS]


@pytest.mark.parametrize(("path", "is_key"), PATHS, ids=IDS)
def test_a_newline_in_any_string_setting_is_refused(path, is_key):
    with pytest.raises(ValidationError) as refused:
        Settings.model_validate(with_newline(path, is_key))
    if not is_key:  # a key is named in the error (infra/hostdata.py escapes it); a value never
        assert "PWNED" not in str(refused.value).split("input_value")[0]


def test_every_string_setting_is_walked():
    """The example fills every section; a new string setting must be added to it."""
    walked = {p[0] for p, _ in PATHS}
    assert walked == set(Settings.model_fields) - {"secrets"}


def test_a_unit_escapes_what_systemd_would_read_in_an_environment_value():
    text = render(
        "/etc/systemd/system/aktienanalyse-frontend@.service",
        "/etc/systemd/system/aktienanalyse-service@.service",
        platform=Platform(), service="frontend", version="1.0.0", after=[],
        environment={"GREETING": '50% "a" \\ b'}, memory_max="512M", cpu_quota=100,
        run_as="aktienanalyse-frontend", secrets_file="/etc/aktienanalyse/frontend.secrets.env",
    )  # fmt: skip
    assert 'Environment="GREETING=50%% \\"a\\" \\\\ b"' in text.splitlines()
