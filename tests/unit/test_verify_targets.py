"""How the verify suite reaches an inventory's hosts: never without a pinned host key."""

from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from tests.verify.targets import _spec

PROD_LIKE = {
    "address": "10.1.1.110",
    "ssh_user": "deploy",
    "ssh_known_hosts_file": "inventories/known_hosts",
    "_sudo": True,
}


def ssh_config(spec: str) -> str:
    return Path(parse_qs(urlparse(spec).query)["ssh_config"][0]).read_text()


def test_production_hosts_are_checked_strictly():
    assert "StrictHostKeyChecking yes" in ssh_config(_spec("prod", PROD_LIKE))


def test_production_hosts_use_the_pinned_known_hosts():
    assert "UserKnownHostsFile inventories/known_hosts" in ssh_config(_spec("prod", PROD_LIKE))


def test_production_checks_run_with_sudo():
    assert parse_qs(urlparse(_spec("prod", PROD_LIKE)).query)["sudo"] == ["true"]


@pytest.fixture
def lab_config(tmp_path, monkeypatch):
    """A lab-like ssh_config, named relative to the working directory."""
    (tmp_path / "lab dir").mkdir()
    (tmp_path / "lab dir" / "ssh_config").write_text("Host node-1\n  HostName 10.0.0.1\n")
    monkeypatch.chdir(tmp_path)
    return {"ssh_config_file": "lab dir/ssh_config"}


def test_lab_hosts_use_the_lab_ssh_config(lab_config, tmp_path):
    assert ssh_config(_spec("node-1", lab_config)).startswith(
        f'Include "{tmp_path}/lab dir/ssh_config"\n'
    )


def test_a_missing_ssh_config_is_refused_not_skipped(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match="ssh_config_file: no such file"):
        _spec("node-1", {"ssh_config_file": "missing"})


def test_host_keys_stay_pinned_under_an_included_config(lab_config):
    assert "StrictHostKeyChecking yes" in ssh_config(_spec("node-1", lab_config))


def test_each_hosts_commands_share_one_connection(lab_config):
    for data in (PROD_LIKE, lab_config):
        assert "ControlPath /tmp/" in ssh_config(_spec("prod", data))


def test_lab_hosts_are_checked_as_the_operator_with_sudo_like_pyinfra(lab_config):
    data = {**lab_config, "ssh_user": "ops", "_sudo": True}
    spec = urlparse(_spec("node-1", data))
    assert (spec.netloc, parse_qs(spec.query)["sudo"]) == ("ops@node-1", ["true"])
