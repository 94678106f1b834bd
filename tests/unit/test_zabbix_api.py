"""infra/zabbix_api.py's pure logic: requests, errors, the desired host and its comparison."""

from __future__ import annotations

import copy

import pytest

from infra.zabbix_api import (
    IMPORT_RULES,
    PSK_IDENTITY_TAG,
    PSK_TAG,
    ZabbixError,
    api_url,
    availability,
    checked_psk,
    desired_host,
    differences,
    ensure_host,
    psk_fingerprint,
    request_body,
    result_of,
    secret_values,
    update_params,
)

PSK = "0f" * 32
PASSWORD = "s3cret-Admin-pw"


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


class FakeAPI:
    """Answers template.get and host.get from fixed data; records every call."""

    def __init__(self, hosts):
        self.hosts = hosts
        self.calls = []

    def call(self, method, params=None):
        self.calls.append((method, params))
        if method == "template.get":
            names = params["filter"]["host"]
            return [{"host": name, "templateid": name.removeprefix("t")} for name in names]
        if method == "host.get":
            return self.hosts
        return {"hostids": ["10650"]}


def ensure(api, **changes):
    return ensure_host(api, **(NODE | {"template_names": ["t10600", "t10001"]} | changes))


def test_ensure_host_leaves_a_host_with_ours_and_an_operator_s_alone():
    api = FakeAPI([with_foreign(registered(desired()))])
    assert ensure(api) == "unchanged"
    assert [method for method, _ in api.calls] == ["template.get", "host.get"]


def test_ensure_host_links_a_missing_template_of_ours_keeping_the_operator_s():
    api = FakeAPI([with_foreign(registered(desired()))])
    assert ensure(api, template_names=["t10600", "t10001", "t10700"]) == "updated"
    method, params = api.calls[-1]
    assert method == "host.update"
    assert [t["templateid"] for t in params["templates"]] == ["10001", "10600", "10700", "10900"]


def test_ensure_host_creates_a_missing_host():
    api = FakeAPI([])
    assert ensure(api) == "created"
    assert api.calls[-1] == ("host.create", desired())


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


def test_login_and_version_go_without_the_session_token():
    assert "auth" not in request_body("user.login", {}, 1, None)
    assert "auth" not in request_body("apiinfo.version", [], 2, "token")
    assert request_body("host.get", {}, 3, "token") == {
        "jsonrpc": "2.0",
        "method": "host.get",
        "params": {},
        "id": 3,
        "auth": "token",
    }


def test_secrets_are_found_at_any_depth():
    params = [{"host": "a", "tls_psk": PSK, "nested": {"password": PASSWORD}}, "x"]
    assert secret_values(params) == {PSK, PASSWORD}


def test_a_result_is_returned():
    assert result_of("host.get", {"jsonrpc": "2.0", "result": [], "id": 4}, 4) == []


def test_an_error_names_the_method_and_zabbix_s_message_but_never_a_secret():
    reply = {
        "jsonrpc": "2.0",
        "error": {"code": -32602, "message": "Invalid params.", "data": f"echo {PASSWORD} {PSK}"},
        "id": 1,
    }
    secrets = secret_values({"username": "Admin", "password": PASSWORD, "tls_psk": PSK})
    with pytest.raises(ZabbixError) as failed:
        result_of("user.login", reply, 1, secrets)
    assert str(failed.value) == "user.login failed: Invalid params. echo *** ***"


def test_an_answer_to_another_request_is_refused():
    with pytest.raises(ZabbixError, match="request 7"):
        result_of("host.get", {"jsonrpc": "2.0", "result": [], "id": 7}, 8)


@pytest.mark.parametrize(
    ("url", "endpoint"),
    [
        ("http://10.1.1.41/zabbix", "http://10.1.1.41/zabbix/api_jsonrpc.php"),
        ("https://zabbix.example.org/", "https://zabbix.example.org/api_jsonrpc.php"),
        ("http://10.1.1.41/zabbix/api_jsonrpc.php", "http://10.1.1.41/zabbix/api_jsonrpc.php"),
    ],
)
def test_the_endpoint_is_found_from_the_frontend_url(url, endpoint):
    assert api_url(url) == endpoint


def test_a_url_without_http_is_refused():
    with pytest.raises(ValueError):
        api_url("10.1.1.41/zabbix")
