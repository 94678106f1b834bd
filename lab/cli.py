"""`python -m lab up [--topology single|split] | down | status | ssh HOST [COMMAND...]`."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

from lab import containers, image, network
from lab.topology import BRIDGE, BRIDGE_ADDRESS, LAB_DIR, TOPOLOGIES, LabHost, hosts_for

HOSTS_JSON = LAB_DIR / "hosts.json"
SSH_CONFIG = LAB_DIR / "ssh_config"
# The testinfra suites' configuration: SSH_CONFIG plus a ControlPath, so that testinfra (which
# asks for ControlMaster=auto) sends every command of a host over one connection: 8 ms a command
# instead of 210 ms for a new login. lab.ssh() and pyinfra keep SSH_CONFIG, a real login each.
# The sockets live under /run: a socket path must stay under 108 bytes, wherever the clone is.
SSH_MUX_CONFIG = LAB_DIR / "ssh_config_mux"
SSH_CONTROL_DIR = Path("/run/aktienanalyse-lab-ssh")
KNOWN_HOSTS = LAB_DIR / "known_hosts"
SSH_KEY = LAB_DIR / "id_ed25519"
SECRETS_DIR = LAB_DIR / "secrets"
# Secrets the lab invents for itself; group data references them by file (see inventories/lab.py).
OPERATOR = "ops"  # pyinfra connects as this operator, with sudo, like production's `deploy`
OPERATOR_SUDOERS = "/etc/sudoers.d/aktienanalyse-operators"  # base's file, same line
LAB_SECRETS = [
    "postgresql_app_password",
    "postgresql_superuser_password",
    "postgresql_replication_password",
    "redis_app_password",
    "redis_admin_password",
    "redis_replication_password",
    "zabbix_admin_password",
]
# A per-service secret (services.broker-gateway.secrets in inventories/lab.py): seed 000's
# broker API credentials, which only broker-gateway may see.
SERVICE_SECRETS_DIR = LAB_DIR / "service-secrets"
BROKER_SECRETS = ["BITPANDA_API_KEY", "BITPANDA_API_SECRET"]
# Every lab password ends in characters a shell, systemd or a config file would read as
# syntax, so the converge and the services' /health prove each reaches its reader verbatim.
HOSTILE_SUFFIX = """ '"$(x)`y`;\\ %h"""


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    """Write atomically, so a killed run never leaves a half-written file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.chmod(mode)
    tmp.replace(path)


def _ensure_ssh_key() -> str:
    if not SSH_KEY.exists() or not SSH_KEY.with_suffix(".pub").exists():
        SSH_KEY.unlink(missing_ok=True)
        SSH_KEY.with_suffix(".pub").unlink(missing_ok=True)
        keygen = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "aktienanalyse-lab"]
        subprocess.run([*keygen, "-f", str(SSH_KEY)], check=True)
    return SSH_KEY.with_suffix(".pub").read_text()


def _ensure_secrets() -> None:
    SECRETS_DIR.mkdir(mode=0o700, exist_ok=True)
    for name in LAB_SECRETS:
        path = SECRETS_DIR / name
        if not path.exists():
            _write(path, secrets.token_urlsafe(24) + HOSTILE_SUFFIX, mode=0o600)
    SERVICE_SECRETS_DIR.mkdir(mode=0o700, exist_ok=True)
    for name in BROKER_SECRETS:
        path = SERVICE_SECRETS_DIR / name
        if not path.exists():
            _write(path, secrets.token_urlsafe(24) + HOSTILE_SUFFIX, mode=0o600)
    cipher = SECRETS_DIR / "pgbackrest_cipher_pass"  # an ini value: hostile, but no spaces
    if not cipher.exists():
        _write(cipher, secrets.token_urlsafe(32) + HOSTILE_SUFFIX.replace(" ", ""), mode=0o600)
    pem = SECRETS_DIR / "haproxy_tls_pem"
    if not pem.exists():
        _write(pem, _self_signed_pem(), mode=0o600)


def _self_signed_pem(name: str = "aktienanalyse-lab", addresses: tuple[str, ...] = ()) -> str:
    """A self-signed certificate and its key, one PEM (what HAProxy's `crt` wants), for the
    IP `addresses` if any (what a client checking the server's address needs)."""
    san = ["-addext", "subjectAltName=" + ",".join(f"IP:{a}" for a in addresses)]
    with tempfile.TemporaryDirectory() as tmp:
        key, cert = Path(tmp) / "key.pem", Path(tmp) / "cert.pem"
        request = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "365"]
        subject = ["-subj", f"/CN={name}", *(san if addresses else [])]
        output = ["-keyout", key, "-out", cert]
        subprocess.run([*request, *subject, *output], check=True, capture_output=True)
        return cert.read_text() + key.read_text()


def _ensure_zabbix_certificate(addresses: list[str]) -> None:
    """The monitoring host's HTTPS certificate (secret zabbix_tls_pem), for its addresses;
    made anew when they change. tools/zabbix_register trusts exactly this certificate."""
    pem = SECRETS_DIR / "zabbix_tls_pem"
    stamp = SECRETS_DIR.parent / "zabbix_tls_addresses"
    wanted = ",".join(sorted(addresses))
    if addresses and not (pem.exists() and stamp.exists() and stamp.read_text() == wanted):
        _write(pem, _self_signed_pem("aktienanalyse-lab-zabbix", tuple(addresses)), mode=0o600)
        stamp.write_text(wanted)


def ssh_config_text(hosts: list[LabHost]) -> str:
    blocks = []
    for host in hosts:
        blocks.append(
            f"Host {host.name}\n"
            f"  HostName {host.address}\n"
            "  User root\n"
            f"  IdentityFile {SSH_KEY}\n"
            "  IdentitiesOnly yes\n"
            f"  UserKnownHostsFile {KNOWN_HOSTS}\n"
            "  StrictHostKeyChecking yes\n"
            "  LogLevel ERROR\n"
        )
    return "\n".join(blocks)


def up(topology: str, recreate: bool = False) -> None:
    LAB_DIR.mkdir(exist_ok=True)
    rootfs = image.ensure_base()
    image.remove_stale_bases(keep=rootfs)
    network.ensure_bridge()
    proxy = network.ensure_apt_cache()
    authorized_key = _ensure_ssh_key()
    _ensure_secrets()

    hosts = hosts_for(topology)
    _ensure_zabbix_certificate([h.address for h in hosts if "monitoring" in h.groups])
    wanted = {h.container: h for h in hosts}
    for name in containers.existing():
        host = wanted.get(name)
        if recreate or host is None or not containers.is_current(host, rootfs, authorized_key):
            print(f"removing {name} (not in topology {topology!r}, or outdated)")
            containers.destroy(name)
    present = set(containers.existing())
    for host in hosts:
        if host.container not in present:
            print(f"creating {host.container} ({host.address}, groups {','.join(host.groups)})")
            containers.create(host, rootfs, hosts, authorized_key)

    _write(SSH_CONFIG, ssh_config_text(hosts))
    _reset_control_dir()  # a master may still talk to a container just recreated
    _write(
        SSH_MUX_CONFIG, ssh_config_text(hosts) + f"\nHost *\n  ControlPath {SSH_CONTROL_DIR}/%C\n"
    )
    known = "".join(f"{h.address} {containers.host_public_key(h)}" for h in hosts)
    known += "".join(f"{h.name} {containers.host_public_key(h)}" for h in hosts)
    _write(KNOWN_HOSTS, known)
    manifest = {
        "topology": topology,
        "bridge": {"name": BRIDGE, "address": BRIDGE_ADDRESS},
        "apt_proxy": proxy,
        "ssh_config": str(SSH_CONFIG),
        "ssh_mux_config": str(SSH_MUX_CONFIG),
        "known_hosts": str(KNOWN_HOSTS),
        "secrets_dir": str(SECRETS_DIR),
        "operator": OPERATOR,
        "hosts": [h.as_dict() for h in hosts],
    }
    _write(HOSTS_JSON, json.dumps(manifest, indent=2) + "\n")

    for host in hosts:
        containers.start(host.container)
    for host in hosts:
        verdict = containers.wait_until_booted(host, SSH_CONFIG)
        if verdict != "running":
            print(f"warning: {host.name}: systemd reports {verdict!r}")
        _provision_operator(host, authorized_key)
    _warm_apt_cache(hosts[0], proxy)
    status()


def _reset_control_dir() -> None:
    shutil.rmtree(SSH_CONTROL_DIR, ignore_errors=True)
    SSH_CONTROL_DIR.mkdir(mode=0o700)


def _warm_apt_cache(host: LabHost, proxy: str) -> None:
    """Renew the cache's release files with one `apt-get update` before any converge, so
    the hosts' concurrent updates are all served from the cache (lab/network.py)."""
    network.refresh_release_files()
    update = f"apt-get update -qq -o Acquire::http::Proxy={shlex.quote(proxy)}"
    subprocess.run(["ssh", "-F", str(SSH_CONFIG), host.name, update], check=True)


def _provision_operator(host: LabHost, authorized_key: str) -> None:
    """What production's provisioning gives a new container before the first converge: the
    operator pyinfra connects as, with the lab's key and sudo (the sudoers file base manages,
    with the same line). Done over the root login the lab keeps for the tests."""
    script = f"""set -e
id -u {OPERATOR} >/dev/null 2>&1 || useradd --create-home --shell /bin/bash {OPERATOR}
install -d -m 700 -o {OPERATOR} -g {OPERATOR} /home/{OPERATOR}/.ssh
if [ ! -s /home/{OPERATOR}/.ssh/authorized_keys ]; then
    printf '%s\\n' {shlex.quote(authorized_key.strip())} > /home/{OPERATOR}/.ssh/authorized_keys
    chown {OPERATOR}: /home/{OPERATOR}/.ssh/authorized_keys
    chmod 600 /home/{OPERATOR}/.ssh/authorized_keys
fi
if [ ! -e {OPERATOR_SUDOERS} ]; then
    echo '{OPERATOR} ALL=(ALL:ALL) NOPASSWD: ALL' > {OPERATOR_SUDOERS}.new
    chmod 440 {OPERATOR_SUDOERS}.new && visudo -cf {OPERATOR_SUDOERS}.new
    mv {OPERATOR_SUDOERS}.new {OPERATOR_SUDOERS}
fi
"""
    subprocess.run(["ssh", "-F", str(SSH_CONFIG), host.name, script], check=True)


def down() -> None:
    for name in containers.existing():
        print(f"removing {name}")
        containers.destroy(name)
    network.remove_bridge()
    network.stop_apt_cache()
    shutil.rmtree(LAB_DIR, ignore_errors=True)
    shutil.rmtree(SSH_CONTROL_DIR, ignore_errors=True)
    leftovers = containers.existing() + ([BRIDGE] if network.bridge_exists() else [])
    leftovers += ["apt-cacher-ng"] if network.apt_cache_running() else []
    if leftovers:
        raise SystemExit(f"lab down left these behind: {', '.join(leftovers)}")
    print("lab removed: no containers, bridge or apt cache left (base image stays cached)")


def status() -> int:
    if not HOSTS_JSON.exists():
        print("no lab (run `make lab`)")
        return 1
    manifest = json.loads(HOSTS_JSON.read_text())
    print(
        f"topology {manifest['topology']}, bridge {BRIDGE} {BRIDGE_ADDRESS}, "
        f"apt cache {manifest['apt_proxy']}"
    )
    print(f"{'host':8} {'address':14} {'state':8} {'memory':7} {'cpus':5} groups")
    for host in manifest["hosts"]:
        print(
            f"{host['name']:8} {host['address']:14} {containers.state(host['container']):8} "
            f"{host['memory_mib']:>5}M  {host['cpus']:5} {','.join(host['groups'])}"
        )
    print(f"ssh: python -m lab ssh HOST   (or ssh -F {SSH_CONFIG} HOST)")
    return 0


def ssh(host: str, command: list[str]) -> None:
    os.execvp("ssh", ["ssh", "-F", str(SSH_CONFIG), host, *command])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up_parser = sub.add_parser("up", help="create or reconcile the lab and boot it")
    up_parser.add_argument(
        "--topology", choices=sorted(TOPOLOGIES), default=os.environ.get("TOPOLOGY", "single")
    )
    up_parser.add_argument(
        "--recreate", action="store_true", help="start from fresh containers (benchmarks)"
    )
    sub.add_parser("down", help="remove containers, bridge and apt cache")
    sub.add_parser("status", help="what runs where")
    ssh_parser = sub.add_parser("ssh", help="open a shell (or run a command) on a lab host")
    ssh_parser.add_argument("host")
    ssh_parser.add_argument("remote_command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)

    if os.geteuid() != 0 and args.command in {"up", "down"}:
        parser.error("the lab needs root (LXC, bridge, apt cache)")
    if args.command == "up":
        up(args.topology, recreate=args.recreate)
    elif args.command == "down":
        down()
    elif args.command == "status":
        return status()
    else:
        ssh(args.host, args.remote_command)
    return 0
