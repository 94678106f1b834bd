"""How the verify suite reaches an inventory's hosts: never without a pinned host key."""

from pathlib import Path
from urllib.parse import parse_qs, urlparse

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


def test_lab_hosts_use_the_lab_ssh_config():
    assert ssh_config(_spec("node-1", {"ssh_config_file": "/x/ssh_config"})).startswith(
        "Include /x/ssh_config\n"
    )


def test_a_relative_ssh_config_is_included_from_where_it_was_named():
    spec = _spec("node-1", {"ssh_config_file": "x/ssh_config"})
    assert f"Include {Path.cwd()}/x/ssh_config\n" in ssh_config(spec)


def test_each_hosts_commands_share_one_connection():
    for data in (PROD_LIKE, {"ssh_config_file": "/x/ssh_config"}):
        assert "ControlPath /" in ssh_config(_spec("prod", data))


def test_lab_hosts_are_checked_as_the_operator_with_sudo_like_pyinfra():
    data = {"ssh_config_file": "/x/ssh_config", "ssh_user": "ops", "_sudo": True}
    spec = urlparse(_spec("node-1", data))
    assert (spec.netloc, parse_qs(spec.query)["sudo"]) == ("ops@node-1", ["true"])
