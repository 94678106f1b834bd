"""Registers the platform's hosts on a Zabbix 6.0 server through its JSON-RPC API.

Imports the template generated from infra/zabbix_items.py, then creates or updates each host
(agent interface, PSK both ways, groups, templates, macros) and reads back its availability and
problems. Zabbix 6.0 never returns `tls_psk` or `tls_psk_identity`, so a host carries them as
tags: `aktienanalyse.psk` holds a fingerprint of the PSK (never the PSK) and
`aktienanalyse.psk_identity` the identity, which is not secret (it travels unencrypted).

The server may be a production one that operators also configure, so what we declare is a
subset of the host that is ensured, never the whole host: the host is in at least our groups
and linked to at least our templates, our macros and our two tags have our values, and the
main agent interface has our address; any other group (they carry users' permissions),
template, macro, tag or interface stays as it is. A host that has all of ours is "unchanged",
whatever else it has. host.update replaces each list it is given, so an update sends only the
parts that lack something of ours, each merged with what the host already has (existing
macros and interfaces by their ids, so nothing is re-created), plus the TLS settings and PSK.

Nothing here logs, and no exception carries a request body: an error names the method and
Zabbix's message, with any password, PSK or session token replaced by `***`.

    with ZabbixAPI(url) as api:
        api.login(user, password)
        import_template(api, TEMPLATE_FILE.read_text())
        group = ensure_host_group(api, "aktienanalyse")
        ensure_host(api, name="node-1", address="10.1.1.11", psk_identity="PSK node-1",
                    psk=psk, group_ids=[group], template_names=[TEMPLATE_NAME], macros={})
"""

from __future__ import annotations

import hashlib
import itertools
import re
import time
from collections.abc import Iterable, Mapping
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit

import requests

SUPPORTED_VERSION = "6.0"
PSK_TAG = "aktienanalyse.psk"
PSK_IDENTITY_TAG = "aktienanalyse.psk_identity"
AGENT_PORT = "10050"
TLS_PSK = 2  # tls_connect / tls_accept: PSK only, unencrypted connections refused
SECRET_KEYS = frozenset({"password", "tls_psk"})
NO_AUTH_METHODS = frozenset({"user.login", "apiinfo.version"})  # 6.0 refuses `auth` on these

_CUD = {"createMissing": True, "updateExisting": True, "deleteMissing": True}
# Zabbix 6.0's rule names ("groups" for host and template groups alike; 6.2 split them into
# host_groups/template_groups). deleteMissing: the file is the whole template, so what
# infra/zabbix_items.py no longer declares disappears from the server too.
IMPORT_RULES: dict[str, dict[str, bool]] = {
    "groups": {"createMissing": True},
    "templates": {"createMissing": True, "updateExisting": True},
    "templateLinkage": {"createMissing": True, "deleteMissing": True},
    "items": _CUD,
    "triggers": _CUD,
    "discoveryRules": _CUD,
    "graphs": _CUD,
    "httptests": _CUD,
    "valueMaps": _CUD,
    "templateDashboards": _CUD,
}

_MACRO = re.compile(r"\{\$[A-Z0-9_.]+(:.+)?\}")
_PSK = re.compile(r"(?:[0-9A-Fa-f]{2}){16,256}")
_INTERFACE_FIELDS = ("type", "main", "useip", "ip", "dns", "port")


class ZabbixError(Exception):
    """A failed API call. The message never holds a password, PSK or session token."""


def api_url(url: str) -> str:
    """The JSON-RPC endpoint for a frontend URL (`https://zabbix/` or the endpoint itself)."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError("the Zabbix URL must start with http:// or https://")
    if url.endswith("/api_jsonrpc.php"):
        return url
    return url.rstrip("/") + "/api_jsonrpc.php"


def request_body(method: str, params: Any, request_id: int, auth: str | None) -> dict:
    """One JSON-RPC 2.0 request; the session token travels in `auth` (Zabbix 6.0)."""
    body = {"jsonrpc": "2.0", "method": method, "params": params, "id": request_id}
    if auth is not None and method not in NO_AUTH_METHODS:
        body["auth"] = auth
    return body


def secret_values(params: Any) -> set[str]:
    """Every string under a SECRET_KEYS key, at any depth of `params`."""
    if isinstance(params, Mapping):
        found = {v for k, v in params.items() if k in SECRET_KEYS and isinstance(v, str) and v}
        return found.union(*(secret_values(v) for v in params.values()))
    if isinstance(params, list | tuple):
        return set().union(*(secret_values(v) for v in params))
    return set()


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with each secret replaced by `***` (longest first, so none leaks in part)."""
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def result_of(method: str, reply: Any, request_id: int, secrets: Iterable[str] = ()) -> Any:
    """The `result` of a JSON-RPC reply, or ZabbixError with Zabbix's message, scrubbed."""
    if not isinstance(reply, Mapping):
        raise ZabbixError(f"{method}: the answer is not a JSON-RPC object")
    error = reply.get("error")
    if error is not None:
        detail = f"{error.get('message', '')} {error.get('data', '')}".strip()
        raise ZabbixError(scrub(f"{method} failed: {detail}", secrets))
    if reply.get("id") != request_id:
        raise ZabbixError(f"{method}: answer to request {reply.get('id')!r}, not {request_id}")
    if "result" not in reply:
        raise ZabbixError(f"{method}: the answer has no result")
    return reply["result"]


class ZabbixAPI:
    """A session with one Zabbix 6.0 frontend: `login(...)`, `call(...)`, `logout()`."""

    def __init__(self, url: str, *, timeout: float = 30.0, verify: bool | str = True):
        self.url = api_url(url)
        self.timeout = timeout
        self.version = ""
        self._session = requests.Session()
        # Per request: requests lets REQUESTS_CA_BUNDLE override a session's `verify`.
        self._verify = verify
        self._ids = itertools.count(1)
        self._auth: str | None = None

    def login(self, user: str, password: str) -> None:
        """Logs in as `user`; refuses a server that is not Zabbix 6.0."""
        self.version = self.call("apiinfo.version", [])
        if self.version.split(".")[:2] != SUPPORTED_VERSION.split("."):
            raise ZabbixError(
                f"Zabbix {SUPPORTED_VERSION} expected, the server runs {self.version}"
            )
        # 6.0 takes `username` (`user` is deprecated since 5.4 and gone in 6.4).
        self._auth = self.call("user.login", {"username": user, "password": password})

    def call(self, method: str, params: Any = None) -> Any:
        """Calls `method`; returns its result or raises ZabbixError."""
        request_id = next(self._ids)
        body = request_body(method, {} if params is None else params, request_id, self._auth)
        secrets = secret_values(params) | ({self._auth} if self._auth else set())
        try:
            response = self._post(body, retry=method.endswith(".get"))
            response.raise_for_status()
            reply = response.json()
        except (requests.RequestException, ValueError) as exc:
            message = f"{method}: no JSON-RPC answer from {self.url}: {type(exc).__name__}: {exc}"
            raise ZabbixError(scrub(message, secrets)) from None
        return result_of(method, reply, request_id, secrets)

    def _post(self, body: dict, retry: bool) -> requests.Response:
        """POST once; a read is sent again when the server had closed the kept-alive connection
        just as it was reused (Apache's KeepAliveTimeout: the request never reached the API)."""
        post = {"json": body, "timeout": self.timeout, "verify": self._verify}
        try:
            return self._session.post(self.url, **post)
        except requests.ConnectionError:
            if not retry:
                raise
            return self._session.post(self.url, **post)

    def logout(self) -> None:
        """Ends the session (a no-op when not logged in)."""
        if self._auth is None:
            return
        try:
            self.call("user.logout", [])
        finally:
            self._auth = None
            self._session.close()

    def __enter__(self) -> ZabbixAPI:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.logout()


def import_template(api: ZabbixAPI, yaml_text: str) -> bool:
    """Imports a Zabbix 6.0 YAML export with IMPORT_RULES; True when it changed something.

    configuration.import answers `true` whatever it did, so configuration.importcompare (6.0+)
    says first whether the server differs from the file. The import runs either way: it is
    idempotent, and a template the comparison missed is still brought up to date.
    """
    params = {"format": "yaml", "source": yaml_text, "rules": IMPORT_RULES}
    changes = api.call("configuration.importcompare", params)
    api.call("configuration.import", params)
    return bool(changes)


def ensure_host_group(api: ZabbixAPI, name: str) -> str:
    """The id of the host group `name`, created when missing."""
    found = api.call("hostgroup.get", {"output": ["groupid"], "filter": {"name": [name]}})
    if found:
        return found[0]["groupid"]
    return api.call("hostgroup.create", {"name": name})["groupids"][0]


def template_ids(api: ZabbixAPI, names: Iterable[str]) -> list[str]:
    """The ids of the templates with these technical names; all of them must exist."""
    names = list(names)
    found = api.call("template.get", {"output": ["templateid", "host"], "filter": {"host": names}})
    by_name = {template["host"]: template["templateid"] for template in found}
    missing = sorted(set(names) - set(by_name))
    if missing:
        raise ZabbixError(f"no template named {', '.join(missing)} (import it first)")
    return [by_name[name] for name in names]


def psk_fingerprint(psk: str) -> str:
    """The first 16 hex digits of the PSK's SHA-256: shows that a PSK changed, not the PSK."""
    return hashlib.sha256(psk.encode()).hexdigest()[:16]


def checked_psk(psk: str) -> str:
    """The PSK without surrounding whitespace (a file's newline); Zabbix's limits enforced."""
    psk = psk.strip()
    if not _PSK.fullmatch(psk):
        raise ValueError("the PSK must be 32 to 512 hex digits, an even number of them")
    return psk


def agent_interface(address: str) -> dict:
    """The host's one interface: Zabbix agent, by IP, port 10050."""
    ip_address(address)  # useip=1 needs an address, not a name
    return {"type": 1, "main": 1, "useip": 1, "ip": address, "dns": "", "port": AGENT_PORT}


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
    if not 0 < len(psk_identity) <= 128:
        raise ValueError("the PSK identity must be 1 to 128 characters")
    bad = sorted(macro for macro in macros if not _MACRO.fullmatch(macro))
    if bad:
        raise ValueError(f"not a user macro name ({{$UPPER_CASE}}): {', '.join(bad)}")
    return {
        "host": name,
        "interfaces": [agent_interface(address)],
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


def comparable(host: Mapping) -> dict:
    """What `ensure_host` manages, in one shape for desired_host() and host.get's answer.

    The main agent interface's fields (None without one), the sets of group ids, template ids
    and (tag, value) pairs, macro name -> value, and (tls_connect, tls_accept), all as strings.
    """
    agent = _main_agent_interface(host.get("interfaces", []))
    templates = host.get("parentTemplates", host.get("templates", []))
    return {
        "interfaces": (
            None if agent is None else tuple(str(agent.get(f, "")) for f in _INTERFACE_FIELDS)
        ),
        "groups": frozenset(str(group["groupid"]) for group in host.get("groups", [])),
        "templates": frozenset(str(template["templateid"]) for template in templates),
        "tags": frozenset((tag["tag"], tag.get("value", "")) for tag in host.get("tags", [])),
        "macros": {macro["macro"]: macro.get("value", "") for macro in host.get("macros", [])},
        "tls": (str(host.get("tls_connect", "")), str(host.get("tls_accept", ""))),
    }


def ours(part: str, have: Any, want: Any) -> Any:
    """The registered host's `part` (in comparable()'s shape) cut down to what `want` names.

    Groups and templates: those of ours it has. Tags: all values of our tag names (a second,
    stale value of our tag counts). Macros: ours, with the values it has. Interface and TLS:
    as they are, there being one of each.
    """
    if part in ("groups", "templates"):
        return have & want
    if part == "tags":
        names = {tag for tag, _ in want}
        return frozenset(pair for pair in have if pair[0] in names)
    if part == "macros":
        return {macro: value for macro, value in have.items() if macro in want}
    return have


def differences(existing: Mapping, desired: Mapping) -> list[str]:
    """The managed parts in which the registered host lacks something of the desired one.

    Whatever else the host has (an operator's groups, templates, macros, tags, interfaces)
    is no difference.
    """
    have, want = comparable(existing), comparable(desired)
    return [part for part in want if ours(part, have[part], want[part]) != want[part]]


def merged_interfaces(existing: Iterable[Mapping], agent: Mapping) -> list[dict]:
    """The host's interfaces with `agent` as its main agent interface, for host.update.

    The main agent interface keeps its interfaceid (replacing it would fail while items use
    it); any other interface is passed by its id alone, so Zabbix keeps it as it is (SNMP
    details included). Without a main agent interface, `agent` is added.
    """
    existing = list(existing)
    main = _main_agent_interface(existing)
    kept = [
        {**agent, "interfaceid": i["interfaceid"]}
        if i is main
        else {"interfaceid": i["interfaceid"]}
        for i in existing
    ]
    return kept if main is not None else [*kept, dict(agent)]


def merged_ids(existing: Iterable[Mapping], desired: Iterable[Mapping], key: str) -> list[dict]:
    """[{key: id}] for the union of both lists' ids (groups, templates), in id order."""
    ids = {str(item[key]) for item in existing} | {str(item[key]) for item in desired}
    return [{key: i} for i in sorted(ids)]


def merged_macros(existing: Iterable[Mapping], desired: Iterable[Mapping]) -> list[dict]:
    """Our macros with our values, the host's others as they are, each existing one by its id.

    An existing macro passed with its hostmacroid is updated in place, not re-created; the
    others are passed by id and name alone, so Zabbix keeps their value, type and description.
    """
    ids = {m["macro"]: m["hostmacroid"] for m in existing}
    names = {m["macro"] for m in desired}
    kept = [
        {"hostmacroid": m["hostmacroid"], "macro": m["macro"]}
        for m in existing
        if m["macro"] not in names
    ]
    ensured = [
        {**m, "hostmacroid": ids[m["macro"]]} if m["macro"] in ids else dict(m) for m in desired
    ]
    return kept + ensured


def merged_tags(existing: Iterable[Mapping], desired: Iterable[Mapping]) -> list[dict]:
    """The host's tags with ours in place of any of our tag names' values."""
    names = {tag["tag"] for tag in desired}
    kept = [
        {"tag": tag["tag"], "value": tag.get("value", "")}
        for tag in existing
        if tag["tag"] not in names
    ]
    return kept + [dict(tag) for tag in desired]


_TLS_FIELDS = ("tls_connect", "tls_accept", "tls_psk_identity", "tls_psk")


def merged(part: str, existing: Mapping, desired: Mapping) -> list[dict]:
    """The host.update list for `part`: the registered host's, with all of the desired one's."""
    if part == "interfaces":
        return merged_interfaces(existing.get("interfaces", []), desired["interfaces"][0])
    if part == "groups":
        return merged_ids(existing.get("groups", []), desired["groups"], "groupid")
    if part == "templates":
        return merged_ids(existing.get("parentTemplates", []), desired["templates"], "templateid")
    if part == "macros":
        return merged_macros(existing.get("macros", []), desired["macros"])
    if part == "tags":
        return merged_tags(existing.get("tags", []), desired["tags"])
    raise ValueError(f"no list part {part!r}")


def update_params(existing: Mapping, desired: Mapping) -> dict:
    """host.update parameters bringing the registered host to have all of the desired one.

    Always the TLS settings with the PSK and its identity (6.0 cannot be asked for them); then
    each part that differs, merged with what the host has besides ours, since host.update
    replaces every list it is given. `templates` is the union of the linked templates and ours
    (never templates_clear: nothing is unlinked).
    """
    params = {"hostid": existing["hostid"], **{field: desired[field] for field in _TLS_FIELDS}}
    for part in differences(existing, desired):
        if part != "tls":
            params[part] = merged(part, existing, desired)
    return params


def ensure_host(
    api: ZabbixAPI,
    *,
    name: str,
    address: str,
    psk_identity: str,
    psk: str,
    group_ids: Iterable[str],
    template_names: Iterable[str],
    macros: Mapping[str, str],
) -> str:
    """Creates the host `name` or ensures ours on it: "created", "updated" or "unchanged".

    An existing host keeps whatever else it has (see the module's docstring).
    """
    desired = desired_host(
        name=name,
        address=address,
        psk_identity=psk_identity,
        psk=psk,
        group_ids=group_ids,
        template_ids=template_ids(api, template_names),
        macros=macros,
    )
    existing = _registered_host(api, name)
    if existing is None:
        api.call("host.create", desired)
        return "created"
    if not differences(existing, desired):
        return "unchanged"
    api.call("host.update", update_params(existing, desired))
    return "updated"


def _registered_host(api: ZabbixAPI, name: str) -> dict | None:
    hosts = api.call(
        "host.get",
        {
            "output": ["hostid", "host", "tls_connect", "tls_accept"],
            "filter": {"host": [name]},
            "selectInterfaces": ["interfaceid", *_INTERFACE_FIELDS],
            "selectGroups": ["groupid"],  # 6.0's name; 6.2 renamed it selectHostGroups
            "selectParentTemplates": ["templateid", "host"],
            "selectTags": ["tag", "value"],
            "selectMacros": ["hostmacroid", "macro", "value"],
        },
    )
    return hosts[0] if hosts else None


def _main_agent_interface(interfaces: Iterable[Mapping]) -> Mapping | None:
    return next(
        (i for i in interfaces if str(i.get("type")) == "1" and str(i.get("main")) == "1"), None
    )


def availability(hosts: Iterable[Mapping], names: Iterable[str]) -> dict[str, tuple[bool, str]]:
    """name -> (agent available, why not) from host.get with selectInterfaces.

    Zabbix 6.0 keeps availability on the interface: 0 unknown (not polled yet), 1 available,
    2 unavailable with the reason in `error`.
    """
    by_name = {host["host"]: host for host in hosts}
    states = {}
    for name in names:
        host = by_name.get(name)
        agent = None if host is None else _main_agent_interface(host.get("interfaces", []))
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
    """Polls until every host's agent is available or `timeout` seconds have passed.

    Returns name -> (available, error) as last seen. The server learns of a new host at its
    next configuration sync (CacheUpdateFrequency, 60 s by default) and marks the interface
    only when it polls one of the host's passive items.
    """
    names = list(host_names)
    deadline = time.monotonic() + timeout
    while True:
        hosts = api.call(
            "host.get",
            {
                "output": ["host"],
                "filter": {"host": names},
                "selectInterfaces": ["type", "main", "available", "error"],
            },
        )
        states = availability(hosts, names)
        remaining = deadline - time.monotonic()
        if all(ok for ok, _ in states.values()) or remaining <= 0:
            return states
        time.sleep(min(interval, remaining))


def check_now(api: ZabbixAPI, host_name: str) -> int:
    """Asks the server to poll the host's enabled agent items and discovery rules now.

    A 6.0 "check now" task (type 6) per item; the server ignores items it has not yet loaded
    into its configuration cache. Returns how many were asked for.
    """
    query = {
        "output": ["itemid"],
        "hostids": [_host_id(api, host_name)],
        "filter": {"type": 0, "status": 0},  # Zabbix agent (passive), enabled
    }
    ids = [i["itemid"] for i in api.call("item.get", query) + api.call("discoveryrule.get", query)]
    if ids:
        api.call("task.create", [{"type": 6, "request": {"itemid": itemid}} for itemid in ids])
    return len(ids)


def problems(api: ZabbixAPI, host_name: str) -> list[str]:
    """The names of the host's triggers now in problem state, macros expanded."""
    triggers = api.call(
        "trigger.get",
        {
            "output": ["description"],
            "hostids": [_host_id(api, host_name)],
            "monitored": True,
            "filter": {"value": 1},
            "expandDescription": True,
        },
    )
    return sorted(trigger["description"] for trigger in triggers)


def _host_id(api: ZabbixAPI, name: str) -> str:
    hosts = api.call("host.get", {"output": ["hostid"], "filter": {"host": [name]}})
    if not hosts:
        raise ZabbixError(f"no host named {name} in Zabbix")
    return hosts[0]["hostid"]
