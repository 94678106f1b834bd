"""The whole deploy, run against pyinfra's `@fake` connector with hostile values: no settings
value or secret reaches a shell unquoted, and none adds a line to a file.

Every string setting that validation accepts with shell and config syntax in it (`'"$();|&\\%`
and braces) gets that value, and so does every password. The converge runs once with these
and once with plain values (tests/unit/fake_converge.py records each command, facts
included, and each upload). A command may hold the marker only inside single quotes (as
`shlex.quote` puts it); an uploaded file must have as many lines as with plain values.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import ValidationError

from infra.settings import Settings
from tests.unit.test_certificates import certificate_pem, key_pem
from tests.unit.test_hostile_values import EXAMPLE, PATHS

REPO = Path(__file__).resolve().parents[2]
MARKER = "PWNED"
# The marker before, between and after quotes: however a value is mis-quoted, one is exposed.
HOSTILE = f"""{MARKER} a'{MARKER}"{MARKER}$(touch /tmp/{MARKER})`id`;d|e&f\\g %h{{i}} j"""
PLAIN = "plain-value-of-some-length"
PASSWORDS = {
    "AKTIENANALYSE_POSTGRESQL_APP_PASSWORD": "pg",
    "AKTIENANALYSE_REDIS_APP_PASSWORD": "app",
    "AKTIENANALYSE_REDIS_ADMIN_PASSWORD": "admin",
}
INVENTORY = """
import json
from pathlib import Path

_data = json.loads(Path(__file__).with_name("settings.json").read_text())
_host = {"ssh_strict_host_key_checking": "yes", **_data}
lb = [("lb-1", {**_host, "address": "10.99.0.10"})]
app = [("app-1", {**_host, "address": "10.99.0.11"}), ("app-2", {**_host, "address": "10.99.0.12"})]
db = [("data-1", {**_host, "address": "10.99.0.13"})]
cache = [("data-1", {**_host, "address": "10.99.0.13"})]
"""


def with_value(data: dict, path: tuple, value: str) -> dict:
    changed = copy.deepcopy(data)
    parent = changed
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value
    return changed


def accepting_paths() -> list[tuple]:
    """The string settings that accept the hostile value (the rest are typed narrower)."""
    accepted = []
    for path, is_key in PATHS:
        if is_key:
            continue
        try:
            Settings.model_validate(with_value(EXAMPLE, path, HOSTILE))
        except ValidationError:
            continue
        accepted.append(path)
    return accepted


def converge(tmp: Path, value: str) -> list[dict]:
    """Record a fake converge of lb, two app hosts and a data host with `value` everywhere."""
    tmp.mkdir()
    data = copy.deepcopy(EXAMPLE)
    for path in accepting_paths():
        data = with_value(data, path, value)
    # A per-service secret of a deployed service, hostile like the passwords.
    data["services"]["frontend"]["secrets"] = {"JWT_SECRET": {"env": "T_JWT_SECRET"}}
    (tmp / "settings.json").write_text(json.dumps(data))
    (tmp / "inventory.py").write_text(INVENTORY)
    key = ec.generate_private_key(ec.SECP256R1())
    env = {name: f"{prefix}-{value}-password" for name, prefix in PASSWORDS.items()}
    env["T_JWT_SECRET"] = f"jwt-{value}-secret"
    # An ini value (pgbackrest.conf): hostile, but refused with spaces.
    env["AKTIENANALYSE_PGBACKREST_CIPHER_PASS"] = f"cipher-{value.replace(' ', '')}-pass"
    env["AKTIENANALYSE_HAPROXY_TLS_PEM"] = certificate_pem(key, 400) + key_pem(key)
    record = tmp / "record.jsonl"
    run = subprocess.run(
        [sys.executable, "-m", "tests.unit.fake_converge", str(tmp / "inventory.py"), str(record)],
        cwd=REPO, env={**os.environ, **env}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return [json.loads(line) for line in record.read_text().splitlines()]


def unquoted(command: str, marker: str) -> bool:
    """Whether `marker` occurs where a POSIX shell reads it outside single quotes."""
    state, index = None, 0
    while index < len(command):
        if state != "'" and command.startswith(marker, index):
            return True
        char = command[index]
        if state == "'":
            state = None if char == "'" else state
        elif char == "\\":
            index += 1  # the next character is escaped, in double quotes or none
        elif state == '"':
            state = None if char == '"' else state
        elif char in "'\"":
            state = char
        index += 1
    return False


@pytest.fixture(scope="module")
def records(tmp_path_factory) -> dict[str, list[dict]]:
    tmp = tmp_path_factory.mktemp("fake-converge")
    return {"hostile": converge(tmp / "hostile", HOSTILE), "plain": converge(tmp / "plain", PLAIN)}


def test_some_settings_accept_shell_syntax_so_the_walk_is_not_vacuous():
    assert {path[0] for path in accepting_paths()} >= {"services", "postgresql"}


def test_the_hostile_values_reach_commands_and_files(records):
    hostile = records["hostile"]
    assert any(MARKER in entry.get("command", "") for entry in hostile)
    assert any(MARKER in entry.get("content", "") for entry in hostile)


def test_the_hostile_service_secret_reaches_its_file(records):
    # Staged uploads are named by a digest of their destination: find the file by its header.
    header = "frontend's own secrets"
    files = [e["content"] for e in records["hostile"] if header in e.get("content", "")]
    assert files and all(f"jwt-{MARKER}" in content for content in files)


def test_no_command_holds_a_settings_value_outside_single_quotes(records):
    escaped = [
        f"{entry['host']}: {entry['command'][:300]}"
        for entry in records["hostile"]
        if "command" in entry and unquoted(entry["command"], MARKER)
    ]
    assert escaped == []


def test_no_value_adds_a_line_to_an_uploaded_file(records):
    def line_counts(record):
        return {
            (entry["host"], entry["upload"]): entry["content"].count("\n")
            for entry in record
            if "upload" in entry
        }

    assert line_counts(records["hostile"]) == line_counts(records["plain"])


@pytest.mark.parametrize(
    ("command", "exposed"),
    [
        ("echo 'PWNED'", False),
        ("echo 'a'\"'\"'PWNED'", False),
        ("echo PWNED", True),
        ('echo "PWNED"', True),
        ("echo 'a' PWNED 'b'", True),
        ("echo \\'PWNED\\'", True),
    ],
)
def test_the_quote_scanner(command, exposed):
    assert unquoted(command, MARKER) is exposed
