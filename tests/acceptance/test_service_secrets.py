"""Per-service secrets (`services.<n>.secrets`): the broker's API credentials reach
broker-gateway and no other service; another service's user can read neither the file nor
the broker's process environment."""

import pytest

from infra.services import secrets_file, service_user
from infra.settings import SERVICES, Platform
from tests.acceptance import lab

testinfra_hosts = lab.hosts("app")

BROKER = "broker-gateway"
NAMES = ["BITPANDA_API_KEY", "BITPANDA_API_SECRET"]  # lab/cli.py BROKER_SECRETS
PLATFORM = Platform()


def broker_secret(name: str) -> str:
    return (lab.LAB_DIR / "service-secrets" / name).read_text().strip()


def main_pid(host, service: str) -> str:
    unit = f"aktienanalyse-{service}@{lab.PORTS[service]}"
    return host.check_output(f"systemctl show -p MainPID --value {unit}")


def environ(host, service: str) -> dict[str, str]:
    """The running instance's environment, read as root from /proc."""
    raw = host.check_output(f"tr '\\0' '\\n' < /proc/{main_pid(host, service)}/environ")
    return dict(line.split("=", 1) for line in raw.splitlines() if "=" in line)


# Assertions compare names and booleans only: pytest would print the values otherwise.


def test_the_broker_receives_its_secrets_verbatim(host):
    received = environ(host, BROKER)
    verbatim = [received.get(name) == broker_secret(name) for name in NAMES]
    assert verbatim == [True] * len(NAMES)


@pytest.mark.parametrize("service", [s for s in SERVICES if s != BROKER])
def test_no_other_service_receives_them(host, service):
    received = sorted(set(NAMES) & set(environ(host, service)))
    assert received == []


def test_the_secrets_file_is_readable_by_root_and_the_broker_alone(host):
    file = host.file(secrets_file(PLATFORM.config_dir, BROKER))
    owner = service_user(PLATFORM.user, BROKER)
    assert (file.user, file.group, file.mode) == (owner, "root", 0o400)


def test_another_service_user_cannot_read_the_file(host):
    other = service_user(PLATFORM.user, "frontend")
    result = host.run(f"runuser -u {other} -- cat {secrets_file(PLATFORM.config_dir, BROKER)}")
    denied = result.rc != 0 and "Permission denied" in result.stderr  # never print `result`
    assert denied


def test_another_service_user_cannot_read_the_broker_process_environment(host):
    other = service_user(PLATFORM.user, "frontend")
    result = host.run(f"runuser -u {other} -- cat /proc/{main_pid(host, BROKER)}/environ")
    denied = result.rc != 0 and "Permission denied" in result.stderr  # never print `result`
    assert denied


def test_no_unit_file_holds_a_secret(host):
    units = host.check_output("cat /etc/systemd/system/aktienanalyse-*.service")
    found = [name for name in NAMES if broker_secret(name) in units]
    assert found == []
