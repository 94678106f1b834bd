"""Converge timings on the lab: a benchmark (`make bench`), not a test.

For each topology: a fresh converge (containers recreated, apt cache warm), a no-op re-run,
a dry run, `make plan` (a dry run with diffs, rendered; one template changed so there is
something to render), and pyinfra's floor on the same hosts (connect plus one fact).
Prints medians and the no-op/floor ratio; the machine is shared and noisy, so only ratios
travel well. With `wide` (16 hosts) and `single` (one) measured, it prints the 16-host
no-op against the one-host one.

The commands each host gets in a no-op are counted from pyinfra's own debug output (`-vvv`
echoes every command it sends with `>>>`): a figure for this benchmark only, nothing
decides on it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections import Counter

from infra.settings import SERVICES
from lab import cli as lab
from tools.apply import REPO, run_pyinfra
from tools.plan import make_plan, render

INVENTORY = "inventories/lab.py"


def timed(action) -> float:
    started = time.monotonic()
    action()
    return time.monotonic() - started


def converge() -> None:
    payload = run_pyinfra(INVENTORY)
    if payload["exit_code"] != 0:
        raise SystemExit("converge failed during the benchmark")


def dry_run() -> None:
    subprocess.run(
        [sys.executable, "-m", "pyinfra", INVENTORY, "deploys/all.py", "--dry", "--json"],
        cwd=REPO, check=True, capture_output=True,
    )  # fmt: skip


# Per topology, over the lab's settings. `wide` deploys no release: 14 hosts' fixture
# instances (about a hundred processes, HAProxy checking each) keep this machine's two cores
# busy on their own and would measure the machine, not the converge. Its app hosts get
# everything else (accounts, directories, packages, units' absence); HAProxy answers 503.
LAB_SETTINGS = {"wide": {"services": {name: {"version": None} for name in SERVICES}}}


def use_lab_settings(settings: dict) -> None:
    os.environ["AKTIENANALYSE_LAB_SETTINGS"] = json.dumps(settings)


def plan() -> None:
    before = json.loads(os.environ.get("AKTIENANALYSE_LAB_SETTINGS", "{}"))
    use_lab_settings({**before, "haproxy": {"check_interval_ms": 3000}})
    try:
        render(make_plan(INVENTORY)[0])
    finally:
        use_lab_settings(before)


def floor() -> None:
    subprocess.run(
        [sys.executable, "-m", "pyinfra", INVENTORY, "fact", "server.Hostname", "--json"],
        cwd=REPO, check=True, capture_output=True,
    )  # fmt: skip


_SENT = re.compile(r"^\s*\[([\w.-]+)\]\s+>>> ")
_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


def commands_per_host() -> dict[str, int]:
    """How many commands each host gets in a no-op converge."""
    result = subprocess.run(
        [sys.executable, "-m", "pyinfra", INVENTORY, "deploys/all.py", "-y", "-vvv"],
        cwd=REPO, check=True, capture_output=True, text=True,
    )  # fmt: skip
    sent = (_SENT.match(_COLOUR.sub("", line)) for line in result.stderr.splitlines())
    return dict(sorted(Counter(match[1] for match in sent if match).items()))


def bench(topology: str, fresh_runs: int, runs: int) -> dict:
    use_lab_settings(LAB_SETTINGS.get(topology, {}))
    fresh = []
    if fresh_runs == 0:  # measure the lab as it is (converged by `make lab`)
        lab.up(topology)
        converge()
    for _ in range(fresh_runs):
        lab.up(topology, recreate=True)
        fresh.append(timed(converge))
    return {
        "fresh converge": statistics.median(fresh) if fresh else float("nan"),
        "no-op re-run": statistics.median(timed(converge) for _ in range(runs)),
        "dry run": statistics.median(timed(dry_run) for _ in range(runs)),
        "plan": statistics.median(timed(plan) for _ in range(runs)),
        "floor (connect + 1 fact)": statistics.median(timed(floor) for _ in range(runs)),
        "commands": commands_per_host(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("topologies", nargs="+")
    parser.add_argument("--fresh-runs", type=int, default=3)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)

    results = {t: bench(t, args.fresh_runs, args.runs) for t in args.topologies}
    print(f"\nmedians in seconds ({args.fresh_runs} fresh runs, {args.runs} of the others)\n")
    print("| topology | fresh converge | no-op re-run | dry run | plan | floor | no-op / floor |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for topology, r in results.items():
        noop, base = r["no-op re-run"], r["floor (connect + 1 fact)"]
        print(
            f"| {topology} | {r['fresh converge']:.1f} | {noop:.1f} | {r['dry run']:.1f} "
            f"| {r['plan']:.1f} "
            f"| {base:.1f} | {noop / base:.2f} |"
        )
    if {"single", "wide"} <= results.keys():
        ratio = results["wide"]["no-op re-run"] / results["single"]["no-op re-run"]
        print(f"\n16-host no-op (wide) / 1-host no-op (single): {ratio:.2f}")
    print("\ncommands sent per host in a no-op converge\n")
    print("| topology | host | commands |")
    print("| --- | --- | ---: |")
    for topology, r in results.items():
        for host, count in r["commands"].items():
            print(f"| {topology} | {host} | {count} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
