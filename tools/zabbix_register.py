"""Register an inventory's hosts on a Zabbix 6.0 server through its API (docs/runbook.md).

    python -m tools.zabbix_register INVENTORY [--url URL] [--wait SECONDS]

Imports zabbix/aktienanalyse-template.yaml, makes the host group `aktienanalyse` and creates
or updates one Zabbix host per inventory host: an agent interface at the host's `address`,
PSK both ways (read from the host over pyinfra's connection, never printed), the platform's
template and the stock "Linux by Zabbix agent" linked, the thresholds as host macros. Hosts
already as wanted are left alone. The stock "Zabbix server" host, which would poll its agent
without PSK, is disabled. With --wait, waits until every agent is available over PSK.

The server is the inventory's `monitoring` host (https://ADDRESS/zabbix, trusting exactly the
certificate of its secret `zabbix_tls_pem`), logged in to as Admin with its secret
`zabbix_admin_password`; for another server give --url (https, checked against the system's
CAs or --ca-file) and the environment's AKTIENANALYSE_ZABBIX_USER and
AKTIENANALYSE_ZABBIX_PASSWORD. Plain http is refused (the API carries the password, the
session token and every PSK) unless --allow-http says otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from gevent import monkey

monkey.patch_all()  # before ssl and sockets are used: pyinfra connects in greenlets

from infra.certificates import certificate_of
from infra.hostdata import REPO, SettingsError, load_inventory, refusal
from infra.inventory import load
from infra.zabbix_api import (
    ZabbixAPI,
    ZabbixError,
    check_now,
    ensure_host,
    ensure_host_group,
    import_template,
    wait_until_available,
)
from infra.zabbix_template import HOST_MACROS, TEMPLATE_FILE, TEMPLATE_NAME

PSK_FILE = "/etc/zabbix/aktienanalyse.psk"  # deploys/zabbix.py
HOST_GROUP = "aktienanalyse"
LINUX_TEMPLATE = "Linux by Zabbix agent"


def read_psks(inventory_file: str) -> dict[str, str]:
    """name → the agent's PSK, read from each host with pyinfra's own connection and sudo."""
    from pyinfra.api import Config, State
    from pyinfra.api.connect import connect_all, disconnect_all
    from pyinfra.context import ctx_state
    from pyinfra.facts.files import FileContents

    state = State()
    state.cwd = str(REPO)
    with ctx_state.use(state):
        inventory = load(inventory_file, cwd=REPO)
        state.init(inventory, Config())
        connect_all(state)
        try:
            psks = {}
            for host in inventory.iter_activated_hosts():
                lines = host.get_fact(FileContents, path=PSK_FILE)
                if lines:
                    psks[host.name] = lines[0].strip()
        finally:
            disconnect_all(state)
    return psks


def disable_stock_server_host(api: ZabbixAPI) -> None:
    """The server's own stock host polls 127.0.0.1 without PSK, which our agents refuse; the
    monitoring host is registered under its inventory name like every other."""
    for found in api.host.get(output=["hostid", "status"], filter={"host": ["Zabbix server"]}):
        if found["status"] == "0":
            api.host.update(hostid=found["hostid"], status=1)
            print("stock host 'Zabbix server': disabled")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inventory")
    parser.add_argument("--url", help="the server's API (default: the monitoring host's)")
    parser.add_argument("--wait", type=float, default=0, help="seconds to wait for the agents")
    parser.add_argument("--ca-file", help="CA certificates to check --url's server against")
    parser.add_argument(
        "--allow-http", action="store_true", help="accept a plain-http --url (tests only)"
    )
    args = parser.parse_args(argv)
    try:
        hosts = load_inventory(args.inventory)
    except SettingsError as invalid:
        print(refusal(invalid), file=sys.stderr)
        return 1
    servers = [h for h in hosts.values() if "monitoring" in h.groups]
    if len(servers) > 1:
        print(f"{args.inventory}: more than one monitoring host; give --url", file=sys.stderr)
        return 2
    pinned = ca_file = None  # the own server's certificate, and the file trusting it
    if args.url:
        url, ca_file = args.url, args.ca_file
        user = os.environ.get("AKTIENANALYSE_ZABBIX_USER", "Admin")
        password = os.environ.get("AKTIENANALYSE_ZABBIX_PASSWORD")
    elif servers:
        url = f"https://{servers[0].data['address']}/zabbix/api_jsonrpc.php"
        pinned = certificate_of(servers[0].settings.secrets["zabbix_tls_pem"])
        user = "Admin"
        password = servers[0].settings.secrets["zabbix_admin_password"].get_secret_value()
    else:
        print(f"{args.inventory}: no monitoring host; give --url", file=sys.stderr)
        return 2
    if urlsplit(url).scheme != "https" and not args.allow_http:
        print(
            "refused: the API URL is not https (the password and PSKs would cross the "
            "network in clear text); --allow-http only for a test",
            file=sys.stderr,
        )
        return 2
    if not password:
        print("no API password: set AKTIENANALYSE_ZABBIX_PASSWORD", file=sys.stderr)
        return 2

    psks = read_psks(args.inventory)
    missing = sorted(set(hosts) - set(psks))
    if missing:
        print(f"no PSK on {', '.join(missing)}: converge them first", file=sys.stderr)
        return 1
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            if pinned:
                ca_file = str(Path(tmp) / "server.pem")
                Path(ca_file).write_text(pinned)
            with ZabbixAPI(
                url, user=user, password=password, ca_file=ca_file, allow_http=args.allow_http
            ) as api:
                register(api, hosts, psks, own_server=not args.url, wait=args.wait)
    except ZabbixError as failed:
        print(f"Zabbix API at {url}: {failed}", file=sys.stderr)
        return 1
    except ValueError as refused:  # a PSK or address the API would take wrongly (never echoed)
        print(f"refused before sending: {refused}", file=sys.stderr)
        return 1
    except Unavailable as unavailable:
        print(f"not available over PSK: {unavailable}", file=sys.stderr)
        return 1
    print(f"registered {len(hosts)} hosts on {url} in {time.monotonic() - started:.1f}s")
    return 0


class Unavailable(Exception):
    """Agents the server could not reach over PSK within the wait."""


def register(
    api: ZabbixAPI, hosts: dict, psks: dict[str, str], own_server: bool, wait: float
) -> None:
    """The template, the host group, every host; with `wait`, their availability."""
    imported = import_template(api, TEMPLATE_FILE.read_text())
    print(f"template {TEMPLATE_NAME}: {'imported' if imported else 'unchanged'}")
    if own_server:  # a server we do not own keeps its own self-monitoring
        disable_stock_server_host(api)
    group = ensure_host_group(api, HOST_GROUP)
    for name, loaded in sorted(hosts.items()):
        verdict = ensure_host(
            api,
            name=name,
            address=str(loaded.data["address"]),
            psk_identity=f"PSK {name}",
            psk=psks[name],
            group_ids=[group],
            template_names=[TEMPLATE_NAME, LINUX_TEMPLATE],
            macros=HOST_MACROS,
        )
        print(f"{name}: {verdict}")
    if not wait:
        return
    availability = wait_until_available(api, sorted(hosts), wait)
    for name, (available, error) in sorted(availability.items()):
        print(f"{name}: {'available over PSK' if available else f'UNAVAILABLE: {error}'}")
    missing = [name for name, (available, _) in sorted(availability.items()) if not available]
    if missing:
        raise Unavailable(", ".join(missing))
    # Discovery runs hourly; ask for it now, so new hosts get their items at once.
    for name in sorted(hosts):
        check_now(api, name)


if __name__ == "__main__":
    raise SystemExit(main())
