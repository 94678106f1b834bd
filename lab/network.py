"""The lab's bridge and the apt cache on the host that gives containers their packages.

Containers have no route to the outside; apt in each goes through apt-cacher-ng bound to the
bridge address only. Both are created idempotently and removed by `down`.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from lab.image import host_mirror
from lab.topology import APT_CACHE_PORT, BRIDGE, BRIDGE_ADDRESS

ACNG_DIR = Path("/etc/apt-cacher-ng")
RUN_DIR = Path("/run/aktienanalyse-lab")
ACNG_PIDFILE = RUN_DIR / "apt-cacher-ng.pid"
CACHE_DIR = Path("/var/cache/apt-cacher-ng")
# A repository's release files, what every `apt-get update` asks for first. apt-cacher-ng
# treats them as volatile and revalidates them upstream; when several hosts ask in the same
# second, the refreshes collide ("Failure to move file ... out of the way", 3.7.4) and the
# hosts' updates hang. The lab makes them static instead (served from the cache, never
# revalidated) and renews them itself at every `lab up` (refresh_release_files).
RELEASE_FILES = r"(^|.*/)dists/[^/]+/(InRelease|Release|Release\.gpg)$"


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def bridge_exists() -> bool:
    return _ip("link", "show", BRIDGE, check=False).returncode == 0


def ensure_bridge() -> None:
    if not bridge_exists():
        _ip("link", "add", BRIDGE, "type", "bridge")
    if f"{BRIDGE_ADDRESS}/24" not in _ip("-o", "addr", "show", "dev", BRIDGE).stdout:
        _ip("addr", "add", f"{BRIDGE_ADDRESS}/24", "dev", BRIDGE)
    _ip("link", "set", BRIDGE, "up")


def remove_bridge() -> None:
    if bridge_exists():
        _ip("link", "del", BRIDGE)


def _acng_pid() -> int | None:
    """The pid of the lab's apt-cacher-ng, if it is running."""
    try:
        pid = int(ACNG_PIDFILE.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ValueError):
        return None
    return pid if b"apt-cacher-ng" in cmdline else None


def ensure_apt_cache() -> str:
    """Run apt-cacher-ng bound to the bridge address only; return the proxy URL for containers.

    The lab runs its own daemon (with its own pidfile) rather than the packaged service: the
    machine may have no systemd, and the packaged one would listen on every interface.
    """
    if Path("/run/systemd/system").is_dir():
        subprocess.run(["systemctl", "disable", "--now", "apt-cacher-ng"], capture_output=True)
    backends = ACNG_DIR / "backends_debian"
    if not backends.exists() or backends.read_text() != host_mirror() + "\n":
        backends.write_text(host_mirror() + "\n")  # without it acng answers 503
    pid = _acng_pid()
    if pid is not None and Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[-2] != (
        _DAEMON_OPTIONS[-1].encode()
    ):
        stop_apt_cache()  # started with other options by an older lab
    if _acng_pid() is None:
        # The cache must belong to the daemon's user, whoever ran apt-cacher-ng before.
        subprocess.run(["chown", "-R", "apt-cacher-ng:apt-cacher-ng", "/var/cache/apt-cacher-ng"])
        RUN_DIR.mkdir(exist_ok=True)
        shutil.chown(RUN_DIR, "apt-cacher-ng", "apt-cacher-ng")
        daemon = ["runuser", "-u", "apt-cacher-ng", "--", "/usr/sbin/apt-cacher-ng"]
        subprocess.run([*daemon, "-c", str(ACNG_DIR), *_DAEMON_OPTIONS], check=True)
    _wait_for_port(BRIDGE_ADDRESS, APT_CACHE_PORT)
    return f"http://{BRIDGE_ADDRESS}:{APT_CACHE_PORT}"


_DAEMON_OPTIONS = [
    f"BindAddress={BRIDGE_ADDRESS}",
    f"Port={APT_CACHE_PORT}",
    f"PidFile={ACNG_PIDFILE}",
    f"SocketPath={RUN_DIR / 'acng.socket'}",
    f"LogDir={RUN_DIR}",
    "ForeGround=0",
    f"SPfilePatternEx={RELEASE_FILES}",  # last: ensure_apt_cache compares it
]


def refresh_release_files() -> None:
    """Drop the cached release files (and their headers and leftovers), so that the next
    request, the lab's single warm-up update, fetches the current ones from the mirror."""
    for path in CACHE_DIR.glob("*/dists/*/*"):
        if path.name.split(".")[0] in {"InRelease", "Release"} and path.is_file():
            path.unlink()


def apt_cache_running() -> bool:
    return _acng_pid() is not None


def stop_apt_cache() -> None:
    pid = _acng_pid()
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        for _ in range(50):
            if not Path(f"/proc/{pid}").exists():
                break
            time.sleep(0.1)
    shutil.rmtree(RUN_DIR, ignore_errors=True)


def _wait_for_port(address: str, port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((address, port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
