"""The Debian 12 base root filesystem every lab container overlays, built once per recipe.

The cache key is a hash of the recipe (suite, variant, packages, mirror, apt sources, and
RECIPE_VERSION for the post-processing below), so changing any of them builds a new base and
an unchanged recipe reuses the cached one. A build goes to a temporary directory and is renamed
into place only when complete, so a killed build never leaves a half image behind.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

CACHE_DIR = Path("/var/cache/aktienanalyse-lab")
SUITE = "bookworm"
VARIANT = "minbase"
# sudo: production containers come with it (pyinfra connects as a sudo operator).
PACKAGES = ["systemd", "systemd-sysv", "dbus", "openssh-server", "python3", "iproute2", "sudo"]
RECIPE_VERSION = 1  # bump when the post-processing in _prepare changes
HOST_APT_SOURCES = Path("/etc/apt/sources.list.d/debian.sources")


def host_mirror(sources: str | None = None) -> str:
    """The first Debian mirror the machine's own apt sources name (its `URIs:` field)."""
    if sources is None:
        sources = HOST_APT_SOURCES.read_text()
    for line in sources.splitlines():
        if line.startswith("URIs:"):
            return line.split()[1]
    raise RuntimeError(f"no 'URIs:' line in {HOST_APT_SOURCES}; cannot pick a Debian mirror")


def recipe() -> dict:
    sources = HOST_APT_SOURCES.read_text()
    return {
        "suite": SUITE,
        "variant": VARIANT,
        "packages": PACKAGES,
        "mirror": host_mirror(sources),
        "apt_sources": sources,
        "version": RECIPE_VERSION,
    }


def recipe_hash(spec: dict) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]


def ensure_base(log=print) -> Path:
    """Return the cached base rootfs for the current recipe, building it if absent."""
    spec = recipe()
    base = CACHE_DIR / f"base-{recipe_hash(spec)}"
    rootfs = base / "rootfs"
    if rootfs.is_dir():
        return rootfs
    building = CACHE_DIR / f".building-{recipe_hash(spec)}"
    shutil.rmtree(building, ignore_errors=True)  # leftovers of a killed build
    building.mkdir(parents=True)
    log(f"building base rootfs {base.name} from {spec['mirror']} (about a minute, once)")
    subprocess.run(
        [
            "debootstrap",
            f"--variant={VARIANT}",
            f"--include={','.join(PACKAGES)}",
            SUITE,
            str(building / "rootfs"),
            spec["mirror"],
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    _prepare(building / "rootfs", spec)
    (building / "recipe.json").write_text(json.dumps(spec, indent=2, sort_keys=True))
    building.rename(base)
    return rootfs


def _prepare(rootfs: Path, spec: dict) -> None:
    """Make the image neutral: per-host identity (host keys, machine-id) comes from the delta."""
    for key in (rootfs / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    (rootfs / "etc/machine-id").write_text("")
    (rootfs / "etc/apt/sources.list.d/debian.sources").write_text(spec["apt_sources"])
    (rootfs / "etc/apt/sources.list").unlink(missing_ok=True)
    shutil.rmtree(rootfs / "var/lib/apt/lists", ignore_errors=True)
    (rootfs / "var/lib/apt/lists/partial").mkdir(parents=True)


def remove_stale_bases(keep: Path) -> None:
    """Drop cached bases of older recipes (and interrupted builds)."""
    for entry in CACHE_DIR.glob("*base-*"):
        if entry != keep.parent:
            shutil.rmtree(entry, ignore_errors=True)
