"""Many lab hosts running `apt-get update` at the same moment through the lab's apt cache.

    python -m tests.apt_race [--rounds 20] [--timeout 90]

Each round empties every host's apt lists and starts `apt-get update` on all of them at
once (over the lab's root SSH login), as a converge of many hosts does. A run that fails or
outlives the timeout counts as hung. A proof for the lab's cache configuration
(lab/network.py), not a test: it prints counts, it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import time

from lab.cli import HOSTS_JSON, SSH_CONFIG


def round_of_updates(hosts: list[str], proxy: str, timeout: int) -> tuple[int, float]:
    """(hosts whose update failed or hung, seconds until the last one finished)."""
    script = (
        "rm -rf /var/lib/apt/lists/* && "
        f"timeout {timeout} apt-get update -qq -o Acquire::http::Proxy={shlex.quote(proxy)}"
    )
    started = time.monotonic()
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    runs = [
        subprocess.Popen(["ssh", "-F", str(SSH_CONFIG), host, script], **quiet) for host in hosts
    ]
    failed = sum(run.wait() != 0 for run in runs)
    return failed, time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--timeout", type=int, default=90)
    args = parser.parse_args(argv)
    manifest = json.loads(HOSTS_JSON.read_text())
    hosts = [h["name"] for h in manifest["hosts"]]
    total = 0
    for number in range(1, args.rounds + 1):
        failed, seconds = round_of_updates(hosts, manifest["apt_proxy"], args.timeout)
        total += failed
        print(f"round {number}: {len(hosts)} hosts, {failed} failed or hung, {seconds:.1f}s")
    print(f"{args.rounds} rounds x {len(hosts)} hosts: {total} failed or hung")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
