"""What the acceptance tests know about the lab: its hosts, groups and files (.lab/)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from infra.settings import DEFAULT_SERVICES
from lab.topology import LAB_DIR

MANIFEST = json.loads((LAB_DIR / "hosts.json").read_text())
SSH_CONFIG = str(LAB_DIR / "ssh_config")
# testinfra's: one connection per host for all its commands (lab/cli.py); ssh() logs in anew.
SSH_MUX_CONFIG = MANIFEST["ssh_mux_config"]
TOPOLOGY = MANIFEST["topology"]
# Each service's first port (the lab runs one instance per service).
PORTS = {name: service.port for name, service in DEFAULT_SERVICES.items()}


def names(group: str | None = None) -> list[str]:
    """Names of the lab hosts (in `group`, if given)."""
    return [h["name"] for h in MANIFEST["hosts"] if group is None or group in h["groups"]]


def hosts(group: str | None = None) -> list[str]:
    """testinfra host specs for the lab hosts (in `group`, if given)."""
    return [f"ssh://{name}?ssh_config={SSH_MUX_CONFIG}" for name in names(group)]


def host_info(name: str) -> dict:
    return next(h for h in MANIFEST["hosts"] if h["name"] == name)


def cpu_count(name: str) -> int:
    """CPUs in a host's cpuset list, e.g. "0" -> 1, "0,1" -> 2, "0-3" -> 4."""
    count = 0
    for part in host_info(name)["cpus"].split(","):
        first, _, last = part.partition("-")
        count += int(last or first) - int(first) + 1
    return count


def memory_bytes(name: str) -> int:
    return host_info(name)["memory_mib"] * 2**20


def endpoint(client: str, server_group: str) -> str:
    """The address `client` uses to reach the `server_group` host: loopback when it is itself."""
    server = names(server_group)[0]
    return "127.0.0.1" if server == client else host_info(server)["address"]


def secret(name: str) -> str:
    """A secret the lab generated (.lab/secrets/); pass it on stdin, never in a command line."""
    return (Path(MANIFEST["secrets_dir"]) / name).read_text().strip()


def ssh(
    host: str, command: str, user: str = "root", stdin: str | None = None
) -> subprocess.CompletedProcess:
    """Run `command` on a lab host as `user` over a real SSH login."""
    return subprocess.run(
        ["ssh", "-F", SSH_CONFIG, "-l", user, "-o", "BatchMode=yes", host, command],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def tcp_connect(client: str, address: str, port: int) -> subprocess.CompletedProcess:
    """Open a TCP connection from `client` (bash's /dev/tcp; no client tools needed)."""
    return ssh(client, f"timeout 5 bash -c 'exec 3<>/dev/tcp/{address}/{port}'")


def versions(host: str) -> dict[str, str | None]:
    """What each instance's /health reports (None when it does not answer 200)."""
    result = ssh(
        host,
        "for p in 8001 8002 8003 8004 8005; do "
        "echo $p $(curl -fsS --max-time 3 http://127.0.0.1:$p/health || echo -); done",
    )
    seen = {}
    for line in result.stdout.splitlines():
        port, body = line.split(" ", 1)
        service = next(s for s, p in PORTS.items() if p == int(port))
        seen[service] = json.loads(body)["version"] if body.startswith("{") else None
    return seen


def all_versions() -> dict[str, dict[str, str | None]]:
    """versions() of every app host."""
    return {host: versions(host) for host in names("app")}


def migration_runs_since(since: str) -> int:
    """Migration runs logged on all app hosts since `since` (systemd timestamp)."""
    total = 0
    for host in names("app"):
        log = ssh(host, f"journalctl -q -o cat -t aktienanalyse-migration --since '{since}'")
        total += sum("schema at version" in line for line in log.stdout.splitlines())
    return total


def now_on(host: str) -> str:
    """The host's clock, as journalctl --since takes it."""
    return ssh(host, "date '+%Y-%m-%d %H:%M:%S'").stdout.strip()


def wait_for(condition, timeout: float) -> float:
    """Seconds until `condition()` held (asked every 2 s); AssertionError after `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(2)
    raise AssertionError(f"not within {timeout:.0f} s")
