"""Templates render to exactly what the hosts should get."""

from deploys.settings import Operator
from deploys.templating import render


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
