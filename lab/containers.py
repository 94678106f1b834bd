"""LXC containers booting systemd on an overlay of the base rootfs.

Each container's identity (hostname, /etc/hosts, its own SSH host key, the lab's authorized
key) is written into its overlay delta before the first boot, so the base image stays shared
and the lab can pin every host key in `.lab/known_hosts`.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from lab.topology import BRIDGE, BRIDGE_ADDRESS, CONTAINER_PREFIX, LAB_DIR, LabHost

LXC_PATH = Path("/var/lib/lxc")


def _cgroup_v2_only() -> bool:
    return Path("/sys/fs/cgroup/cgroup.controllers").exists()


def lxc_config(host: LabHost, rootfs: Path) -> str:
    """The LXC config for `host` (LAB-NOTES: the shape that boots systemd here)."""
    delta = LXC_PATH / host.container / "delta"
    if _cgroup_v2_only():
        limits = [
            f"lxc.cgroup2.memory.max = {host.memory_mib}M",
            f"lxc.cgroup2.cpuset.cpus = {host.cpus}",
        ]
    else:
        limits = [
            f"lxc.cgroup.memory.limit_in_bytes = {host.memory_mib}M",
            f"lxc.cgroup.cpuset.cpus = {host.cpus}",
        ]
    lines = [
        "# Written by lab/containers.py; recreated by `python -m lab up`.",
        "lxc.include = /usr/share/lxc/config/common.conf",
        "lxc.arch = linux64",
        f"lxc.uts.name = {host.name}",
        f"lxc.rootfs.path = overlay:{rootfs}:{delta}",
        "lxc.net.0.type = veth",
        f"lxc.net.0.link = {BRIDGE}",
        "lxc.net.0.flags = up",
        f"lxc.net.0.ipv4.address = {host.address}/24",
        f"lxc.net.0.ipv4.gateway = {BRIDGE_ADDRESS}",
        "lxc.apparmor.profile = unconfined",
        "lxc.autodev = 1",
        *limits,
    ]
    # backup.path: a mount of its own, off the rootfs
    if {"db", "cache", "backup"} & set(host.groups):
        lines.append(f"lxc.mount.entry = {backup_dir(host)} srv/backup none bind,create=dir 0 0")
    return "\n".join(lines) + "\n"


def backup_dir(host: LabHost) -> Path:
    """The lab machine's directory mounted at /srv/backup in `host`: another filesystem than
    the container's, like production's backup mount."""
    return LAB_DIR / "backup" / host.name


def existing() -> list[str]:
    """Names of every lab container on this machine, running or not."""
    if not LXC_PATH.is_dir():
        return []
    return sorted(
        p.name for p in LXC_PATH.iterdir() if p.name.startswith(CONTAINER_PREFIX) and p.is_dir()
    )


def state(container: str) -> str:
    result = subprocess.run(
        ["lxc-info", "-n", container, "-s", "-H"], capture_output=True, text=True
    )
    return result.stdout.strip() or "ABSENT"


def destroy(container: str) -> None:
    if state(container) == "RUNNING":
        subprocess.run(["lxc-stop", "-n", container, "-k"], capture_output=True)
    subprocess.run(["lxc-destroy", "-n", container], capture_output=True)
    shutil.rmtree(LXC_PATH / container, ignore_errors=True)  # a half-created one has no config


def create(host: LabHost, rootfs: Path, all_hosts: list[LabHost], authorized_key: str) -> str:
    """Create `host` with a fresh delta; return its SSH host public key."""
    home = LXC_PATH / host.container
    delta = home / "delta"
    delta.mkdir(parents=True)
    (home / "config").write_text(lxc_config(host, rootfs))
    shutil.rmtree(backup_dir(host), ignore_errors=True)  # a new container, a new repository
    backup_dir(host).mkdir(parents=True)

    (delta / "etc/ssh").mkdir(parents=True)
    (delta / "etc/hostname").write_text(host.name + "\n")
    hosts = ["127.0.0.1 localhost", f"127.0.1.1 {host.name}"]
    hosts += [f"{h.address} {h.name}" for h in all_hosts if h.name != host.name]
    (delta / "etc/hosts").write_text("\n".join(hosts) + "\n")
    ssh_dir = delta / "root/.ssh"
    ssh_dir.mkdir(parents=True, mode=0o700)
    (ssh_dir / "authorized_keys").write_text(authorized_key)
    (ssh_dir / "authorized_keys").chmod(0o600)
    key = delta / "etc/ssh/ssh_host_ed25519_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", host.name, "-f", str(key)],
        check=True,
    )
    return key.with_suffix(".pub").read_text().strip()


def host_public_key(host: LabHost) -> str:
    return (LXC_PATH / host.container / "delta/etc/ssh/ssh_host_ed25519_key.pub").read_text()


def is_current(host: LabHost, rootfs: Path, authorized_key: str) -> bool:
    """Whether the container was made from this base, with this config, for this lab's key."""
    home = LXC_PATH / host.container
    config, keys = home / "config", home / "delta/root/.ssh/authorized_keys"
    return (
        config.exists()
        and config.read_text() == lxc_config(host, rootfs)
        and keys.exists()
        and keys.read_text() == authorized_key
        and (home / "delta/etc/ssh/ssh_host_ed25519_key.pub").exists()
    )


def start(container: str) -> None:
    if state(container) != "RUNNING":
        subprocess.run(["lxc-start", "-n", container], check=True)


def wait_until_booted(host: LabHost, ssh_config: Path, timeout: float = 90) -> str:
    """Wait until SSH answers and systemd has finished booting; return systemd's verdict."""
    deadline = time.monotonic() + timeout
    ssh = ["ssh", "-F", str(ssh_config), "-o", "ConnectTimeout=2", host.name]
    while True:
        result = subprocess.run(
            [*ssh, "systemctl is-system-running --wait"],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        verdict = result.stdout.strip()
        if verdict in {"running", "degraded"}:
            return verdict
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{host.name} ({host.address}) did not boot within {timeout:.0f}s: "
                f"{verdict or result.stderr.strip()}"
            )
        time.sleep(1)
