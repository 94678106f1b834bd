"""infra/zabbix_api.py: the desired host and its comparison, and the client on top of
zabbix_utils against a local JSON-RPC server over TLS (login, certificate checks, errors,
secrets) driving ensure_host, the template import, check_now and problems."""

from __future__ import annotations

import copy
import json
import logging
import ssl
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from infra.zabbix_api import (
    IMPORT_RULES,
    PSK_IDENTITY_TAG,
    PSK_TAG,
    ZabbixAPI,
    ZabbixError,
    availability,
    check_now,
    checked_psk,
    desired_host,
    differences,
    ensure_host,
    ensure_host_group,
    import_template,
    problems,
    psk_fingerprint,
    secret_values,
    update_params,
)

PSK = "0f" * 32
PASSWORD = "s3cret-Admin-pw"
SESSION = "5f3c0e5c6a1b4e0f8d2c7b9a1e3d5f70"

NODE = {
    "name": "node-1",
    "address": "10.1.1.10",
    "psk_identity": "PSK node-1",
    "psk": PSK,
    "group_ids": ["22"],
    "macros": {"{$CPU.UTIL.CRIT}": "90"},
}


def desired(**changes):
    return desired_host(**(NODE | {"template_ids": ["10600", "10001"]} | changes))


def registered(host):
    """What Zabbix 6.0's host.get answers for `host` as created: strings, ids, no PSK."""
    return {
        "hostid": "10650",
        "host": host["host"],
        "tls_connect": str(host["tls_connect"]),
        "tls_accept": str(host["tls_accept"]),
        "interfaces": [
            {"interfaceid": "71", **{k: str(v) for k, v in interface.items()}}
            for interface in host["interfaces"]
        ],
        "groups": [{"groupid": g["groupid"]} for g in host["groups"]],
        "parentTemplates": [
            {"templateid": t["templateid"], "host": f"t{t['templateid']}"}
            for t in reversed(host["templates"])
        ],
        "tags": list(reversed(host["tags"])),
        "macros": [
            {"hostmacroid": str(5 + number), **macro} for number, macro in enumerate(host["macros"])
        ],
    }


def with_foreign(host):
    """`host` as an operator may have extended it: a group, template, macro, tag, interface."""
    host = copy.deepcopy(host)
    host["groups"].append({"groupid": "7"})
    host["parentTemplates"].append({"templateid": "10900", "host": "Operator template"})
    host["macros"].append({"hostmacroid": "9", "macro": "{$OPERATOR}", "value": "x"})
    host["tags"].append({"tag": "owner", "value": "ops"})
    host["interfaces"].append(
        {"interfaceid": "72", "type": "2", "main": "1", "useip": "1", "ip": "10.1.1.10"}
    )
    return host


def test_the_host_has_one_agent_interface_by_ip_on_10050():
    assert desired()["interfaces"] == [
        {"type": 1, "main": 1, "useip": 1, "ip": "10.1.1.10", "dns": "", "port": "10050"}
    ]


def test_the_host_takes_psk_both_ways_and_refuses_plain_connections():
    host = desired()
    assert (host["tls_connect"], host["tls_accept"]) == (2, 2)
    assert (host["tls_psk_identity"], host["tls_psk"]) == ("PSK node-1", PSK)


def test_the_psk_tag_holds_a_fingerprint_never_the_psk():
    tags = {tag["tag"]: tag["value"] for tag in desired()["tags"]}
    assert tags == {PSK_TAG: psk_fingerprint(PSK), PSK_IDENTITY_TAG: "PSK node-1"}
    assert len(tags[PSK_TAG]) == 16 and tags[PSK_TAG] not in PSK
    assert psk_fingerprint(PSK) != psk_fingerprint("1e" * 32)


def test_groups_templates_and_macros_are_listed_once_in_order():
    host = desired(group_ids=["22", "22"])
    assert host["groups"] == [{"groupid": "22"}]
    assert host["templates"] == [{"templateid": "10001"}, {"templateid": "10600"}]
    assert host["macros"] == [{"macro": "{$CPU.UTIL.CRIT}", "value": "90"}]


def test_the_psk_file_s_newline_is_dropped():
    assert checked_psk(PSK + "\n") == PSK
    assert desired(psk=PSK + "\n")["tls_psk"] == PSK


@pytest.mark.parametrize("psk", ["0f" * 15, "0f" * 16 + "0", "zz" * 32, "", "0f" * 257])
def test_a_psk_outside_zabbix_s_limits_is_refused_without_showing_it(psk):
    with pytest.raises(ValueError) as refused:
        checked_psk(psk)
    assert not psk or psk not in str(refused.value)


def test_the_address_must_be_an_ip():
    with pytest.raises(ValueError):
        desired(address="node-1.example.org")


@pytest.mark.parametrize("identity", ["", "x" * 129])
def test_the_psk_identity_must_fit_zabbix(identity):
    with pytest.raises(ValueError):
        desired(psk_identity=identity)


def test_a_macro_name_must_be_a_user_macro():
    with pytest.raises(ValueError, match="cpu"):
        desired(macros={"{$cpu}": "1"})


def test_a_host_as_created_is_unchanged():
    host = desired()
    assert differences(registered(host), host) == []


@pytest.mark.parametrize(
    ("changes", "part"),
    [
        ({"psk": "1e" * 32}, "tags"),
        ({"psk_identity": "PSK other"}, "tags"),
        ({"address": "10.1.1.99"}, "interfaces"),
        ({"group_ids": ["22", "23"]}, "groups"),
        ({"template_ids": ["10600", "10001", "10700"]}, "templates"),
        ({"macros": {"{$CPU.UTIL.CRIT}": "95"}}, "macros"),
        ({"macros": {"{$CPU.UTIL.CRIT}": "90", "{$NEW}": "1"}}, "macros"),
    ],
)
def test_a_change_is_seen_in_its_part(changes, part):
    assert differences(registered(desired()), desired(**changes)) == [part]
    assert differences(with_foreign(registered(desired())), desired(**changes)) == [part]


def test_encryption_switched_off_on_the_server_is_seen():
    existing = registered(desired())
    existing["tls_accept"] = "3"  # PSK or unencrypted
    assert differences(existing, desired()) == ["tls"]


def test_an_operator_s_groups_templates_macros_tags_and_interfaces_are_no_difference():
    assert differences(with_foreign(registered(desired())), desired()) == []


@pytest.mark.parametrize(
    "changes",
    [{"group_ids": ["23"]}, {"template_ids": ["10600"]}, {"macros": {}}],
)
def test_what_we_no_longer_declare_stays_on_the_host(changes):
    # Not ours to remove any more: an operator may rely on it.
    existing = registered(desired(group_ids=["22", "23"]))
    assert differences(existing, desired(**changes)) == []


def test_a_stale_second_value_of_our_tag_is_seen():
    existing = registered(desired())
    existing["tags"].append({"tag": PSK_TAG, "value": psk_fingerprint("1e" * 32)})
    assert differences(existing, desired()) == ["tags"]
    tags = update_params(existing, desired())["tags"]
    assert tags == desired()["tags"]


def test_a_missing_template_of_ours_is_linked_with_the_ones_the_host_has():
    existing = with_foreign(registered(desired()))
    want = desired(template_ids=["10600", "10001", "10700"])
    params = update_params(existing, want)
    assert params["templates"] == [
        {"templateid": "10001"},
        {"templateid": "10600"},
        {"templateid": "10700"},
        {"templateid": "10900"},
    ]
    assert "templates_clear" not in params
    # only the part that differs is sent (host.update replaces each list it is given)
    tls = {"tls_connect", "tls_accept", "tls_psk_identity", "tls_psk"}
    assert set(params) - tls == {"hostid", "templates"}


def test_an_update_keeps_the_operator_s_groups_templates_macros_tags_and_interfaces():
    existing = with_foreign(registered(desired()))
    want = desired(
        address="10.1.1.99",
        psk="1e" * 32,
        group_ids=["22", "23"],
        template_ids=["10600", "10001", "10700"],
        macros={"{$CPU.UTIL.CRIT}": "95", "{$NEW}": "1"},
    )
    params = update_params(existing, want)
    assert params["hostid"] == "10650"
    assert params["interfaces"] == [
        {**want["interfaces"][0], "interfaceid": "71"},
        {"interfaceid": "72"},
    ]
    assert params["groups"] == [{"groupid": "22"}, {"groupid": "23"}, {"groupid": "7"}]
    assert {t["templateid"] for t in params["templates"]} == {"10001", "10600", "10700", "10900"}
    assert params["macros"] == [
        {"hostmacroid": "9", "macro": "{$OPERATOR}"},
        {"macro": "{$CPU.UTIL.CRIT}", "value": "95", "hostmacroid": "5"},
        {"macro": "{$NEW}", "value": "1"},
    ]
    assert params["tags"] == [{"tag": "owner", "value": "ops"}, *want["tags"]]
    assert (params["tls_connect"], params["tls_accept"]) == (2, 2)
    assert (params["tls_psk_identity"], params["tls_psk"]) == ("PSK node-1", "1e" * 32)


def test_a_host_without_an_agent_interface_gets_ours_besides_its_others():
    existing = with_foreign(registered(desired()))
    existing["interfaces"] = [i for i in existing["interfaces"] if i["type"] != "1"]
    assert differences(existing, desired()) == ["interfaces"]
    params = update_params(existing, desired())
    assert params["interfaces"] == [{"interfaceid": "72"}, desired()["interfaces"][0]]


def test_a_tls_change_alone_sends_only_the_tls_settings_and_psk():
    existing = with_foreign(registered(desired()))
    existing["tls_accept"] = "3"
    assert update_params(existing, desired()) == {
        "hostid": "10650",
        "tls_connect": 2,
        "tls_accept": 2,
        "tls_psk_identity": "PSK node-1",
        "tls_psk": PSK,
    }


def test_an_update_leaves_both_hosts_alone():
    want = desired(address="10.1.1.99", psk="1e" * 32, macros={"{$NEW}": "1"})
    existing = with_foreign(registered(desired()))
    before = copy.deepcopy((existing, want))
    update_params(existing, want)
    assert (existing, want) == before


def test_import_rules_are_zabbix_6_0_s():
    assert "groups" in IMPORT_RULES
    assert not {"host_groups", "template_groups", "templateGroups"} & set(IMPORT_RULES)
    for rule in ("items", "triggers", "discoveryRules"):
        assert IMPORT_RULES[rule] == {
            "createMissing": True,
            "updateExisting": True,
            "deleteMissing": True,
        }


def agent(available, error=""):
    return {"type": "1", "main": "1", "available": available, "error": error}


def test_availability_per_host():
    hosts = [
        {"host": "a", "interfaces": [agent("1")]},
        {"host": "b", "interfaces": [agent("2", "cannot establish TLS")]},
        {"host": "c", "interfaces": [agent("0")]},
        {"host": "d", "interfaces": [{"type": "2", "main": "1", "available": "1"}]},
    ]
    assert availability(hosts, ["a", "b", "c", "d", "e"]) == {
        "a": (True, ""),
        "b": (False, "cannot establish TLS"),
        "c": (False, "not polled yet"),
        "d": (False, "no agent interface"),
        "e": (False, "not registered"),
    }


def test_secrets_are_found_at_any_depth():
    params = [{"host": "a", "tls_psk": PSK, "nested": {"password": PASSWORD}}, "x"]
    assert secret_values(params) == {PSK, PASSWORD}


# The client, against a local Zabbix: JSON-RPC over TLS with a self-signed certificate for
# 127.0.0.1, as the lab's server has one for its address.


class Failure(dict):
    """A JSON-RPC `error` object to answer with."""


class FakeZabbix(ThreadingHTTPServer):
    """A Zabbix 6.0 API on 127.0.0.1: `answers` maps a method to its result, a function of its
    params or a Failure; every request is kept in `requests`."""

    def __init__(self, answers: dict, tls: ssl.SSLContext | None):
        super().__init__(("127.0.0.1", 0), _Handler)
        if tls:
            self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.answers = {"apiinfo.version": "6.0.36", "user.login": SESSION} | answers
        self.answers.setdefault("user.logout", True)
        self.requests: list[dict] = []
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self.server_address[1]}/zabbix"

    def methods(self) -> list[str]:
        return [request["method"] for request in self.requests]

    def params(self, method: str) -> list:
        return [request["params"] for request in self.requests if request["method"] == method]

    def handle_error(self, request, client_address):  # a client refusing our certificate
        pass


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(request)
        answer = self.server.answers.get(request["method"], Failure(message="No such method."))
        if callable(answer):
            answer = answer(request["params"])
        key = "error" if isinstance(answer, Failure) else "result"
        body = json.dumps({"jsonrpc": "2.0", key: answer, "id": request["id"]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def self_signed(directory, name: str):
    """A self-signed certificate for 127.0.0.1 (what `openssl req -x509` makes) and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert, key_file = directory / f"{name}.pem", directory / f"{name}.key"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert), str(key_file)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    """(server's certificate, its key), and another certificate nobody serves."""
    directory = tmp_path_factory.mktemp("pki")
    return self_signed(directory, "zabbix"), self_signed(directory, "other")[0]


@pytest.fixture
def zabbix(certificates, monkeypatch):
    """Starts a FakeZabbix (TLS unless told otherwise); stops every one at the end."""
    monkeypatch.setenv("no_proxy", "*")  # urllib would take a proxy from the environment
    for variable in ("ZABBIX_URL", "ZABBIX_USER", "ZABBIX_PASSWORD", "ZABBIX_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    servers = []

    def start(answers=None, tls=True):
        context = None
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*certificates[0])
        server = FakeZabbix(answers or {}, context)
        threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def server_pem(certificates):
    return certificates[0][0]


@pytest.fixture
def other_pem(certificates):
    return certificates[1]


def connect(server, ca_file, **options):
    return ZabbixAPI(server.url, user="Admin", password=PASSWORD, ca_file=ca_file, **options)


def test_the_login_sends_username_and_password_then_the_session_travels_in_auth(zabbix, server_pem):
    server = zabbix({"host.get": []})
    with connect(server, server_pem) as api:
        assert api.host.get(output=["hostid"]) == []
    assert server.methods() == ["apiinfo.version", "user.login", "host.get", "user.logout"]
    assert server.params("user.login") == [{"username": "Admin", "password": PASSWORD}]
    assert [request.get("auth") for request in server.requests] == [None, None, SESSION, SESSION]


def test_the_environment_s_zabbix_credentials_are_never_used(zabbix, server_pem, monkeypatch):
    monkeypatch.setenv("ZABBIX_TOKEN", "token-for-another-server")
    monkeypatch.setenv("ZABBIX_USER", "other")
    monkeypatch.setenv("ZABBIX_PASSWORD", "password-for-another-server")
    server = zabbix()
    connect(server, server_pem).logout()
    assert server.params("user.login") == [{"username": "Admin", "password": PASSWORD}]
    assert "another-server" not in json.dumps(server.requests)


@pytest.mark.parametrize("version", ["5.0.42", "6.4.20", "7.0.5"])
def test_a_server_other_than_6_0_is_refused_before_the_password_is_sent(
    zabbix, server_pem, version
):
    server = zabbix({"apiinfo.version": version})
    with pytest.raises(ZabbixError, match=r"6\.0"):
        connect(server, server_pem)
    assert server.methods() == ["apiinfo.version"]


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/zabbix", "127.0.0.1/zabbix", "ftp://x/"])
def test_a_url_other_than_https_is_refused_before_contact(url):
    with pytest.raises(ValueError, match="https://"):
        ZabbixAPI(url, user="Admin", password=PASSWORD)


def test_plain_http_only_when_allowed(zabbix):
    server = zabbix(tls=False)
    connect(server, None, allow_http=True).logout()
    assert server.methods() == ["apiinfo.version", "user.login", "user.logout"]


def test_no_user_or_password_is_refused(server_pem):
    with pytest.raises(ValueError):
        ZabbixAPI("https://127.0.0.1:9/", user="Admin", password="", ca_file=server_pem)


def test_the_certificate_is_checked_against_exactly_the_ca_file(
    zabbix, server_pem, other_pem, monkeypatch, tmp_path
):
    # Every CA setting of the environment would trust the server; the CA file given does not.
    for variable in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.setenv(variable, server_pem)
    server = zabbix()
    with pytest.raises(ZabbixError, match="CERTIFICATE_VERIFY_FAILED") as refused:
        connect(server, other_pem)
    assert str(refused.value).startswith("apiinfo.version: ")
    assert server.requests == []
    monkeypatch.setenv("SSL_CERT_FILE", other_pem)
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    connect(server, server_pem).logout()  # and the one given is enough


def test_without_a_ca_file_the_system_s_cas_decide(zabbix, other_pem, monkeypatch, tmp_path):
    monkeypatch.setenv("SSL_CERT_FILE", other_pem)
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", other_pem)
    server = zabbix()
    with pytest.raises(ZabbixError, match="CERTIFICATE_VERIFY_FAILED"):
        connect(server, None)
    assert server.requests == []


def test_a_missing_ca_file_is_a_zabbix_error(zabbix, tmp_path):
    with pytest.raises(ZabbixError, match="cannot read CA file"):
        connect(zabbix(), str(tmp_path / "missing.pem"))


def test_no_server_is_a_zabbix_error(zabbix, server_pem):
    server = zabbix()
    server.shutdown()
    server.server_close()
    with pytest.raises(ZabbixError, match=r"^apiinfo\.version: Unable to connect"):
        connect(server, server_pem)


def test_a_refused_login_never_shows_the_password(zabbix, server_pem):
    failure = Failure(code=-32500, message="Application error.", data=f"No {PASSWORD} here.")
    server = zabbix({"user.login": failure})
    with pytest.raises(ZabbixError) as refused:
        connect(server, server_pem)
    assert str(refused.value) == "user.login failed: Application error. No *** here."


def ensure(api, **changes):
    return ensure_host(api, **(NODE | {"template_names": ["t10600", "t10001"]} | changes))


def templates(params):
    return [
        {"host": name, "templateid": name.removeprefix("t")} for name in params["filter"]["host"]
    ]


def test_an_api_error_is_one_line_naming_the_method_never_a_secret_nor_the_request(
    zabbix, server_pem
):
    data = f"echo {PASSWORD} {PSK}\nand more"
    failure = Failure(code=-32602, message="Invalid params.", data=data)
    server = zabbix({"template.get": templates, "host.get": [], "host.create": failure})
    with connect(server, server_pem) as api, pytest.raises(ZabbixError) as failed:
        ensure(api)
    assert str(failed.value) == "host.create failed: Invalid params. echo *** *** and more"
    # zabbix_utils' exception carries the request, PSK included: not chained
    assert failed.value.__context__ is None and failed.value.__cause__ is None


def test_debug_logging_never_shows_a_psk_or_the_password(zabbix, server_pem, caplog):
    caplog.set_level(logging.DEBUG)
    server = zabbix({"template.get": templates, "host.get": [], "host.create": {}})
    with connect(server, server_pem) as api:
        ensure(api)
    assert PSK not in caplog.text and PASSWORD not in caplog.text
    assert server.params("host.create")[0]["tls_psk"] == PSK


def test_ensure_host_creates_a_missing_host(zabbix, server_pem):
    server = zabbix({"template.get": templates, "host.get": [], "host.create": {}})
    with connect(server, server_pem) as api:
        assert ensure(api) == "created"
    assert server.params("template.get") == [
        {"output": ["templateid", "host"], "filter": {"host": ["t10600", "t10001"]}}
    ]
    assert server.params("host.get")[0]["filter"] == {"host": ["node-1"]}
    assert server.params("host.create") == [desired()]


def test_ensure_host_leaves_a_host_with_ours_and_an_operator_s_alone(zabbix, server_pem):
    existing = with_foreign(registered(desired()))
    server = zabbix({"template.get": templates, "host.get": [existing]})
    with connect(server, server_pem) as api:
        assert ensure(api) == "unchanged"
        assert ensure(api) == "unchanged"
    assert not {"host.create", "host.update"} & set(server.methods())


def test_ensure_host_links_a_missing_template_of_ours_keeping_the_operator_s(zabbix, server_pem):
    existing = with_foreign(registered(desired()))
    server = zabbix({"template.get": templates, "host.get": [existing], "host.update": {}})
    with connect(server, server_pem) as api:
        assert ensure(api, template_names=["t10600", "t10001", "t10700"]) == "updated"
    [params] = server.params("host.update")
    assert [t["templateid"] for t in params["templates"]] == ["10001", "10600", "10700", "10900"]
    assert (params["tls_psk"], params["tls_psk_identity"]) == (PSK, "PSK node-1")


def test_ensure_host_refuses_a_template_the_server_lacks(zabbix, server_pem):
    server = zabbix({"template.get": [{"host": "t10600", "templateid": "10600"}]})
    with connect(server, server_pem) as api, pytest.raises(ZabbixError, match="t10001"):
        ensure(api)
    assert "host.get" not in server.methods()


@pytest.mark.parametrize(("compared", "changed"), [([], False), ({"templates": {}}, True)])
def test_the_template_is_compared_then_imported_with_6_0_s_rules(
    zabbix, server_pem, compared, changed
):
    server = zabbix({"configuration.importcompare": compared, "configuration.import": True})
    with connect(server, server_pem) as api:
        assert import_template(api, "zabbix_export: {}\n") is changed
    params = {"format": "yaml", "source": "zabbix_export: {}\n", "rules": IMPORT_RULES}
    assert server.params("configuration.importcompare") == [params]
    assert server.params("configuration.import") == [params]


def test_the_host_group_is_found_or_created(zabbix, server_pem):
    server = zabbix(
        {
            "hostgroup.get": lambda p: [{"groupid": "22"}] if p["filter"]["name"] == ["a"] else [],
            "hostgroup.create": {"groupids": ["23"]},
        }
    )
    with connect(server, server_pem) as api:
        assert ensure_host_group(api, "a") == "22"
        assert ensure_host_group(api, "b") == "23"
    assert server.params("hostgroup.create") == [{"name": "b"}]


def test_check_now_asks_for_each_agent_item_and_discovery_rule(zabbix, server_pem):
    server = zabbix(
        {
            "host.get": [{"hostid": "10650"}],
            "item.get": [{"itemid": "1"}, {"itemid": "2"}],
            "discoveryrule.get": [{"itemid": "3"}],
            "task.create": {"taskids": ["7", "8", "9"]},
        }
    )
    with connect(server, server_pem) as api:
        assert check_now(api, "node-1") == 3
    assert server.params("item.get")[0]["hostids"] == ["10650"]
    assert server.params("task.create") == [
        [{"type": 6, "request": {"itemid": itemid}} for itemid in ("1", "2", "3")]
    ]


def test_problems_are_the_host_s_triggers_in_problem_state(zabbix, server_pem):
    triggers = [{"description": "b is down"}, {"description": "a is down"}]
    server = zabbix({"host.get": [{"hostid": "10650"}], "trigger.get": triggers})
    with connect(server, server_pem) as api:
        assert problems(api, "node-1") == ["a is down", "b is down"]
    assert server.params("trigger.get")[0]["filter"] == {"value": 1}


def test_an_unknown_host_is_a_zabbix_error(zabbix, server_pem):
    server = zabbix({"host.get": []})
    with connect(server, server_pem) as api, pytest.raises(ZabbixError, match="no host named x"):
        problems(api, "x")
