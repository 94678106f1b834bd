"""deploys/monitoring.py and tools/zabbix_register.py on the lab's Zabbix server (split: mon-1).

The registration runs once for the module (and again, to show it changes nothing); then the
real server is asked, through its API, what an operator would look at: every host available
over PSK, the template with its triggers, and a stopped instance raising a problem that
resolves when it starts again.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import SecretStr

from infra.certificates import certificate_of
from infra.zabbix_api import ZabbixAPI, ZabbixError, check_now, problems
from infra.zabbix_template import HOST_MACROS, RULE_TRIGGERS, TEMPLATE_NAME, TRIGGERS
from tests.acceptance import lab

if not lab.names("monitoring"):
    pytest.skip("no monitoring host in this topology", allow_module_level=True)

pytestmark = pytest.mark.journey

SERVER = lab.names("monitoring")[0]
ADDRESS = lab.host_info(SERVER)["address"]
URL = f"https://{ADDRESS}/zabbix/api_jsonrpc.php"
testinfra_hosts = lab.hosts("monitoring")


def register(*extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tools.zabbix_register", "inventories/lab.py", *extra],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip


@pytest.fixture(scope="module")
def registered():
    first = register("--wait", "240")
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    return first.stdout


@pytest.fixture(scope="module")
def server_certificate(tmp_path_factory):
    """The certificate the lab made for the server (.lab/secrets/zabbix_tls_pem), to trust."""
    path = tmp_path_factory.mktemp("zabbix") / "server.pem"
    path.write_text(certificate_of(SecretStr(lab.secret("zabbix_tls_pem"))))
    return str(path)


@pytest.fixture(scope="module")
def api(registered, server_certificate):
    password = lab.secret("zabbix_admin_password")
    with ZabbixAPI(URL, user="Admin", password=password, ca_file=server_certificate) as client:
        yield client


def host_of(api, name: str) -> dict:
    found = api.host.get(
        filter={"host": [name]}, output=["hostid", "tls_connect", "tls_accept", "status"],
        selectInterfaces=["ip", "port", "available"], selectParentTemplates=["host"],
        selectMacros=["macro", "value"],
    )  # fmt: skip
    assert len(found) == 1, f"{name} is not registered"
    return found[0]


def test_server_database_and_frontend_run(host):
    for unit in ("zabbix-server", "postgresql@15-main", "apache2"):
        assert host.service(unit).is_running, unit


def test_the_database_takes_no_tcp_connections(host):
    assert not host.socket("tcp://0.0.0.0:5432").is_listening


def test_no_database_password_exists(host):
    assert "DBPassword" not in host.file("/etc/zabbix/zabbix_server.conf").content_string


def test_the_frontends_default_admin_password_is_gone(registered, server_certificate):
    with pytest.raises(ZabbixError):
        ZabbixAPI(URL, user="Admin", password="zabbix", ca_file=server_certificate)


def test_nothing_answers_plain_http(registered):
    assert lab.tcp_connect(lab.names("app")[0], ADDRESS, 80).returncode != 0


def test_the_tool_refuses_a_plain_http_url():
    result = register("--url", f"http://{ADDRESS}/zabbix/api_jsonrpc.php")
    assert result.returncode == 2 and "not https" in result.stderr


def test_an_unpinned_certificate_is_refused(registered):
    """Without the server's own certificate as trust anchor, the API is not believed."""
    with pytest.raises(ZabbixError, match=r"SSL|certificate"):
        ZabbixAPI(URL, user="Admin", password="never-sent")  # the system's CAs


def test_every_host_is_registered_once(api):
    for name in lab.names():
        host_of(api, name)


@pytest.mark.parametrize("name", lab.names())
def test_host_is_available_over_psk(api, name):
    found = host_of(api, name)
    assert (found["tls_connect"], found["tls_accept"]) == ("2", "2")  # PSK only, both ways
    assert [i["available"] for i in found["interfaces"]] == ["1"]


@pytest.mark.parametrize("name", lab.names())
def test_host_links_the_platform_and_the_linux_template(api, name):
    linked = {t["host"] for t in host_of(api, name)["parentTemplates"]}
    assert linked == {TEMPLATE_NAME, "Linux by Zabbix agent"}


def test_thresholds_are_host_macros(api):
    macros = {m["macro"]: m["value"] for m in host_of(api, lab.names("db")[0])["macros"]}
    assert macros == HOST_MACROS


def test_the_imported_template_has_every_trigger(api):
    template = api.template.get(filter={"host": [TEMPLATE_NAME]}, output=["templateid"])
    templateid = template[0]["templateid"]
    triggers = api.trigger.get(templateids=[templateid], output=["description"])
    prototypes = api.triggerprototype.get(templateids=[templateid], output=["description"])
    names = {t["description"] for t in triggers + prototypes}
    declared = [*TRIGGERS.values(), *RULE_TRIGGERS.values()]
    assert names == {name for found in declared for _, name, _ in found}


def test_a_second_registration_changes_nothing(registered):
    again = register()
    assert again.returncode == 0, again.stderr[-2000:]
    verdicts = [line for line in again.stdout.splitlines() if line.split(":")[0] in lab.names()]
    assert verdicts == [f"{name}: unchanged" for name in sorted(lab.names())]


def test_a_stopped_instance_raises_a_problem_within_two_minutes_and_it_resolves(api):
    victim, unit = lab.names("app")[0], "aktienanalyse-frontend@8005.service"
    problem = f"{unit} is down"
    # Discovery must have created the unit's item first. The registration asked for it, but a
    # server ignores a "check now" for a rule its configuration cache does not hold yet.
    check_now(api, victim)
    lab.wait_for(lambda: api.item.get(host=victim, search={"key_": unit}, output=["itemid"]), 180)
    # An earlier test may have stopped this instance: the server reports it until its next poll.
    lab.wait_for(lambda: problem not in problems(api, victim), 150)
    lab.ssh(victim, f"systemctl stop {unit}")
    try:
        raised = lab.wait_for(lambda: problem in problems(api, victim), 120)
    finally:
        lab.ssh(victim, f"systemctl start {unit}")
    # The raise waited for the item's own interval (the promise); the resolution needs only a
    # fresh value, so ask for it instead of waiting up to another minute.
    lab.wait_for(lambda: lab.ssh(victim, f"systemctl is-active --quiet {unit}").returncode == 0, 30)
    check_now(api, victim)
    resolved = lab.wait_for(lambda: problem not in problems(api, victim), 120)
    print(f"problem raised after {raised:.0f} s, resolved {resolved:.0f} s after the start")


def test_the_packages_sudo_rule_for_zabbix_is_gone(host):
    """zabbix-server-pgsql ships `zabbix ALL = (ALL) NOPASSWD: /usr/bin/nmap -O *` (nmap's
    scripts make that a root shell), mode 0644: removed (found by test_base's `visudo -c`)."""
    assert not host.file("/etc/sudoers.d/zabbix").exists
