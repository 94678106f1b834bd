"""Registers the platform's hosts on a Zabbix 6.0 server, on top of Zabbix's `zabbix_utils`.

`ZabbixAPI` is zabbix_utils' client logged in by user and password: https only (http when
allowed), the server's certificate checked against exactly the CA file given (else the
system's CAs), Zabbix 6.0 only (checked before the password is sent). Each failure raises a
one-line ZabbixError, with the password and any PSK as `***`; the library's debug log (request
bodies, PSKs unmasked) stays off.

`ensure_host` declares a subset of a host, never the whole host (operators may configure it
too): at least our groups and templates, our macros and tags with our values, our address on
its main agent interface, PSK both ways. Anything else stays; a host with all of ours is
"unchanged". host.update replaces each list it is given, so an update sends only the parts
lacking something of ours, merged with the host's own (macros, interfaces by id). 6.0 never
returns the PSK or its identity, so the host carries them as tags: `aktienanalyse.psk` a
fingerprint of the PSK (never the PSK), `aktienanalyse.psk_identity` the identity.

    with ZabbixAPI(url, user="Admin", password=password, ca_file="server.pem") as api:
        import_template(api, TEMPLATE_FILE.read_text())
        ensure_host(api, name="node-1", address="10.1.1.11", psk_identity="PSK node-1",
                    psk=psk, group_ids=[ensure_host_group(api, "aktienanalyse")],
                    template_names=[TEMPLATE_NAME], macros={})
"""

from __future__ import annotations

import hashlib
import logging
import re
import ssl
import time
from collections.abc import Iterable, Mapping
from http.client import HTTPException
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit

import zabbix_utils

SUPPORTED_VERSION = 6.0
PSK_TAG = "aktienanalyse.psk"
PSK_IDENTITY_TAG = "aktienanalyse.psk_identity"
TLS_PSK = 2  # tls_connect / tls_accept: PSK only, unencrypted connections refused
_CUD = {"createMissing": True, "updateExisting": True, "deleteMissing": True}
# Zabbix 6.0's rule names ("groups"; 6.2 and later have host_groups and template_groups).
# deleteMissing: the file is the whole template, so what it does not declare is deleted.
IMPORT_RULES = {
    "groups": {"createMissing": True},
    "templates": {"createMissing": True, "updateExisting": True},
    "templateLinkage": {"createMissing": True, "deleteMissing": True},
    **dict.fromkeys(
        ("items", "triggers", "discoveryRules", "graphs", "httptests", "valueMaps"), _CUD
    ),
    "templateDashboards": _CUD,
}
_MACRO = re.compile(r"\{\$[A-Z0-9_.]+(:.+)?\}")
_PSK = re.compile(r"(?:[0-9A-Fa-f]{2}){16,256}")
_INTERFACE_FIELDS = ("type", "main", "useip", "ip", "dns", "port")
_TLS_FIELDS = ("tls_connect", "tls_accept", "tls_psk_identity", "tls_psk")

# Its DEBUG records hold each request body, where only passwords and tokens are masked.
logging.getLogger("zabbix_utils").setLevel(logging.INFO)


class ZabbixError(Exception):
    """A failed API call, in one line without a password or PSK."""


def secret_values(params: Any) -> set[str]:
    """Every non-empty `password` or `tls_psk` string at any depth of `params`."""
    if isinstance(params, Mapping):
        own = {v for k, v in params.items() if k in ("password", "tls_psk") and v}
        return own.union(*map(secret_values, params.values()))
    return set().union(*map(secret_values, params)) if isinstance(params, list) else set()


def scrubbed(text: str, secrets: Iterable[str]) -> str:
    """`text` in one line, each secret replaced by `***` (longest first)."""
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        text = text.replace(secret, "***")
    return " ".join(text.split())


class ZabbixAPI(zabbix_utils.ZabbixAPI):
    """zabbix_utils' client, logged in to one Zabbix 6.0 server (`with` logs out)."""

    def __init__(
        self,
        url: str,
        *,
        user: str,
        password: str,
        ca_file: str | None = None,
        allow_http: bool = False,
        timeout: float = 30,
    ) -> None:
        if urlsplit(url).scheme not in ("https", "http" if allow_http else "https"):
            raise ValueError("the Zabbix URL must start with https://")
        if not (user and password):  # zabbix_utils would take ZABBIX_USER/_PASSWORD instead
            raise ValueError("no Zabbix user or password")
        self._password = password
        try:  # exactly ca_file's certificates (no system CA then), else the system's CAs
            context = ssl.create_default_context(cafile=ca_file)
        except OSError as exc:
            raise ZabbixError(f"cannot read CA file {ca_file}: {exc}") from None
        try:
            super().__init__(
                url, user=user, password=password, ssl_context=context, timeout=timeout
            )
        except (zabbix_utils.ModuleBaseException, ValueError) as exc:
            failure = str(exc)  # a version it does not support or cannot read
        else:
            return
        raise ZabbixError(scrubbed(failure, {password}))

    def login(
        self, token: str | None = None, user: str | None = None, password: str | None = None
    ) -> None:
        """Only on 6.0, by user and password (the environment's ZABBIX_TOKEN is ignored)."""
        if self.version.major != SUPPORTED_VERSION:
            raise ZabbixError(
                f"Zabbix {SUPPORTED_VERSION} expected, the server runs {self.version}"
            )
        super().login(user=user, password=password)

    def send_api_request(self, method: str, params: Any = None, need_auth: bool = True) -> dict:
        """zabbix_utils' request; a failure raises ZabbixError, chained to nothing (the
        library's exception holds the request, PSKs included)."""
        try:
            return super().send_api_request(method, params, need_auth)
        except zabbix_utils.APIRequestError as exc:
            failure = f"{method} failed: {exc}"
        except zabbix_utils.ProcessingError as exc:  # no connection, TLS refused, not JSON
            failure = f"{method}: {exc}"
        except (OSError, HTTPException) as exc:  # the answer broke off
            failure = f"{method}: no answer from {self.url}: {type(exc).__name__}: {exc}"
        raise ZabbixError(scrubbed(failure, {self._password} | secret_values(params)))


def import_template(api: ZabbixAPI, yaml_text: str) -> bool:
    """Imports a 6.0 YAML export with IMPORT_RULES; True when the server differed from it
    (configuration.import answers `true` whatever it did; it runs either way)."""
    params = {"format": "yaml", "source": yaml_text, "rules": IMPORT_RULES}
    changes = api.configuration.importcompare(**params)
    api.configuration.import_(**params)
    return bool(changes)


def ensure_host_group(api: ZabbixAPI, name: str) -> str:
    """The id of the host group `name`, created when missing."""
    found = api.hostgroup.get(output=["groupid"], filter={"name": [name]})
    return found[0]["groupid"] if found else api.hostgroup.create(name=name)["groupids"][0]


def template_ids(api: ZabbixAPI, names: Iterable[str]) -> list[str]:
    """The ids of the templates with these technical names; all of them must exist."""
    names = list(names)
    found = api.template.get(output=["templateid", "host"], filter={"host": names})
    by_name = {template["host"]: template["templateid"] for template in found}
    if missing := sorted(set(names) - set(by_name)):
        raise ZabbixError(f"no template named {', '.join(missing)} (import it first)")
    return [by_name[name] for name in names]


def psk_fingerprint(psk: str) -> str:
    """The first 16 hex digits of the PSK's SHA-256: shows that a PSK changed, not the PSK."""
    return hashlib.sha256(psk.encode()).hexdigest()[:16]


def checked_psk(psk: str) -> str:
    """The PSK without surrounding whitespace (a file's newline); Zabbix's limits enforced."""
    if not _PSK.fullmatch(psk := psk.strip()):
        raise ValueError("the PSK must be 32 to 512 hex digits, an even number of them")
    return psk


def desired_host(
    *,
    name: str,
    address: str,
    psk_identity: str,
    psk: str,
    group_ids: Iterable[str],
    template_ids: Iterable[str],
    macros: Mapping[str, str],
) -> dict:
    """The host.create parameters for one host (PSK included: never print them)."""
    psk = checked_psk(psk)
    ip_address(address)  # useip=1 needs an address, not a name
    if not 0 < len(psk_identity) <= 128:
        raise ValueError("the PSK identity must be 1 to 128 characters")
    if bad := sorted(macro for macro in macros if not _MACRO.fullmatch(macro)):
        raise ValueError(f"not a user macro name ({{$UPPER_CASE}}): {', '.join(bad)}")
    return {
        "host": name,
        "interfaces": [
            {"type": 1, "main": 1, "useip": 1, "ip": address, "dns": "", "port": "10050"}
        ],
        "groups": [{"groupid": groupid} for groupid in sorted(set(group_ids))],
        "templates": [{"templateid": templateid} for templateid in sorted(set(template_ids))],
        "macros": [{"macro": macro, "value": value} for macro, value in sorted(macros.items())],
        "tags": [
            {"tag": PSK_TAG, "value": psk_fingerprint(psk)},
            {"tag": PSK_IDENTITY_TAG, "value": psk_identity},
        ],
        "tls_connect": TLS_PSK,
        "tls_accept": TLS_PSK,
        "tls_psk_identity": psk_identity,
        "tls_psk": psk,
    }


def _agent(interfaces: Iterable[Mapping]) -> Mapping | None:
    """The main Zabbix agent interface."""
    return next(
        (i for i in interfaces if (str(i.get("type")), str(i.get("main"))) == ("1", "1")), None
    )


def differences(existing: Mapping, desired: Mapping) -> list[str]:
    """The parts in which the registered host (host.get's answer) lacks something of the
    desired one; whatever else it has is no difference."""

    def comparable(host: Mapping) -> dict:
        agent = _agent(host.get("interfaces", []))
        return {
            "interfaces": agent and tuple(str(agent.get(f, "")) for f in _INTERFACE_FIELDS),
            "groups": {str(g["groupid"]) for g in host.get("groups", [])},
            "templates": {
                str(t["templateid"]) for t in host.get("parentTemplates", host.get("templates", []))
            },
            "tags": {(t["tag"], t.get("value", "")) for t in host.get("tags", [])},
            "macros": {m["macro"]: m.get("value", "") for m in host.get("macros", [])},
            "tls": (str(host.get("tls_connect", "")), str(host.get("tls_accept", ""))),
        }

    have, want = comparable(existing), comparable(desired)
    ours = {  # the host's part cut down to what we name (all values of our tag names)
        "groups": have["groups"] & want["groups"],
        "templates": have["templates"] & want["templates"],
        "tags": {pair for pair in have["tags"] if pair[0] in {tag for tag, _ in want["tags"]}},
        "macros": {m: v for m, v in have["macros"].items() if m in want["macros"]},
    }
    return [part for part in want if ours.get(part, have[part]) != want[part]]


def update_params(existing: Mapping, desired: Mapping) -> dict:
    """host.update parameters giving the registered host all of the desired one: the TLS
    settings and PSK always (6.0 cannot be asked for them), each differing part merged with
    the host's own. Nothing is unlinked, and nothing of the host's re-created."""
    params = {"hostid": existing["hostid"], **{field: desired[field] for field in _TLS_FIELDS}}
    parts = differences(existing, desired)
    if "interfaces" in parts:  # the main agent interface keeps its id; others go by id alone
        agent, main = desired["interfaces"][0], _agent(existing["interfaces"])
        kept = [
            {**agent, "interfaceid": i["interfaceid"]}
            if i is main
            else {"interfaceid": i["interfaceid"]}
            for i in existing["interfaces"]
        ]
        params["interfaces"] = kept if main else [*kept, dict(agent)]
    for part, key, theirs in [
        ("groups", "groupid", "groups"),
        ("templates", "templateid", "parentTemplates"),
    ]:
        if part in parts:
            ids = {str(i[key]) for i in [*existing.get(theirs, []), *desired[part]]}
            params[part] = [{key: i} for i in sorted(ids)]
    if "macros" in parts:  # by id: updated in place; the host's others keep value and type
        ids = {m["macro"]: m["hostmacroid"] for m in existing["macros"]}
        names = {m["macro"] for m in desired["macros"]}
        params["macros"] = [
            {"hostmacroid": m["hostmacroid"], "macro": m["macro"]}
            for m in existing["macros"]
            if m["macro"] not in names
        ] + [
            {**m, "hostmacroid": ids[m["macro"]]} if m["macro"] in ids else dict(m)
            for m in desired["macros"]
        ]
    if "tags" in parts:
        names = {tag["tag"] for tag in desired["tags"]}
        params["tags"] = [
            {"tag": tag["tag"], "value": tag.get("value", "")}
            for tag in existing["tags"]
            if tag["tag"] not in names
        ] + [dict(tag) for tag in desired["tags"]]
    return params


def ensure_host(api: ZabbixAPI, *, template_names: Iterable[str], **host: Any) -> str:
    """Creates the host or ensures ours on it: "created", "updated" or "unchanged". `host`:
    desired_host()'s arguments, the templates by name."""
    desired = desired_host(**host, template_ids=template_ids(api, template_names))
    found = api.host.get(
        output=["hostid", "host", "tls_connect", "tls_accept"],
        filter={"host": [desired["host"]]},
        selectInterfaces=["interfaceid", *_INTERFACE_FIELDS],
        selectGroups=["groupid"],  # 6.0's name; 6.2 and later call it selectHostGroups
        selectParentTemplates=["templateid", "host"],
        selectTags=["tag", "value"],
        selectMacros=["hostmacroid", "macro", "value"],
    )
    if not found:
        api.host.create(**desired)
        return "created"
    if not differences(found[0], desired):
        return "unchanged"
    api.host.update(**update_params(found[0], desired))
    return "updated"


def availability(hosts: Iterable[Mapping], names: Iterable[str]) -> dict[str, tuple[bool, str]]:
    """name -> (agent available, why not) from host.get with selectInterfaces; 6.0 keeps it
    on the interface: 0 unknown (not polled yet), 1 available, 2 not (the reason in `error`)."""
    by_name = {host["host"]: host for host in hosts}
    states = {}
    for name in names:
        host = by_name.get(name)
        agent = None if host is None else _agent(host.get("interfaces", []))
        if host is None:
            states[name] = (False, "not registered")
        elif agent is None:
            states[name] = (False, "no agent interface")
        elif str(agent.get("available")) == "1":
            states[name] = (True, "")
        elif str(agent.get("available")) == "2":
            states[name] = (False, agent.get("error") or "unavailable")
        else:
            states[name] = (False, "not polled yet")
    return states


def wait_until_available(
    api: ZabbixAPI, host_names: Iterable[str], timeout: float, *, interval: float = 5.0
) -> dict[str, tuple[bool, str]]:
    """Polls until every host's agent is available or `timeout` seconds have passed; returns
    availability() as last seen. The server learns of a new host at its next configuration
    sync (60 s by default) and marks the interface when it polls a passive item."""
    names, deadline = list(host_names), time.monotonic() + timeout
    while True:
        hosts = api.host.get(
            output=["host"],
            filter={"host": names},
            selectInterfaces=["type", "main", "available", "error"],
        )
        states, remaining = availability(hosts, names), deadline - time.monotonic()
        if all(ok for ok, _ in states.values()) or remaining <= 0:
            return states
        time.sleep(min(interval, remaining))


def check_now(api: ZabbixAPI, host_name: str) -> int:
    """Asks the server to poll the host's enabled agent items and discovery rules now (6.0
    task type 6; it ignores items not yet in its configuration cache); returns how many."""
    query = {
        "output": ["itemid"],
        "hostids": [_host_id(api, host_name)],
        "filter": {"type": 0, "status": 0},  # Zabbix agent (passive), enabled
    }
    ids = [i["itemid"] for i in api.item.get(**query) + api.discoveryrule.get(**query)]
    if ids:
        api.task.create([{"type": 6, "request": {"itemid": itemid}} for itemid in ids])
    return len(ids)


def problems(api: ZabbixAPI, host_name: str) -> list[str]:
    """The names of the host's triggers now in problem state, macros expanded."""
    triggers = api.trigger.get(
        output=["description"],
        hostids=[_host_id(api, host_name)],
        monitored=True,
        filter={"value": 1},
        expandDescription=True,
    )
    return sorted(trigger["description"] for trigger in triggers)


def _host_id(api: ZabbixAPI, name: str) -> str:
    if not (hosts := api.host.get(output=["hostid"], filter={"host": [name]})):
        raise ZabbixError(f"no host named {name} in Zabbix")
    return hosts[0]["hostid"]
