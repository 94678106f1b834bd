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
    assert _spec("node-1", {"ssh_config_file": "/x/ssh_config"}) == (
        "ssh://node-1?ssh_config=/x/ssh_config"
    )


def test_lab_hosts_are_checked_as_the_operator_with_sudo_like_pyinfra():
    data = {"ssh_config_file": "/x/ssh_config", "ssh_user": "ops", "_sudo": True}
    assert _spec("node-1", data) == "ssh://ops@node-1?ssh_config=/x/ssh_config&sudo=true"
