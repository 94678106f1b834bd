"""Converge an inventory with deploys/all.py and judge pyinfra's JSON results.

    python -m tools.apply inventories/lab.py                     # converge, fail on errors
    python -m tools.apply inventories/lab.py --expect-no-change  # the idempotence gate
    python -m tools.apply inventories/prod.py --summary apply.md # what `make apply` runs

The settings are validated first (nothing is contacted when they are invalid). pyinfra's
progress goes to stderr, every secret of the inventory redacted; its JSON results (stdout)
are read here, never scraped from text, and kept where --results says. The summary of a failed
run names each failed host and operation, quotes the host's last lines of (redacted) output,
and, for a release switch (the operations' own record, infra/effects.py), the service, the
version and the release that serves instead.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from pathlib import Path

from infra.effects import APPLY_RECORD, runs_as
from infra.hostdata import SettingsError, load_inventory, refusal
from tools.redact import Redactor, inventory_secrets

QUOTED_LINES = 8  # of a failed host's output, in the summary

REPO = Path(__file__).resolve().parent.parent
PYINFRA = [sys.executable, "-m", "pyinfra"]


def run_pyinfra(
    inventory: str,
    deploy: str = "deploys/all.py",
    extra: tuple = (),
    env: dict[str, str] | None = None,
    capture_stderr: bool = False,
    redact: Callable[[str], str] | None = None,
) -> dict:
    """Run pyinfra with --json; return its parsed output (exit if it produced none).

    `env` adds environment variables, e.g. AKTIENANALYSE_LAB_SETTINGS for inventories/lab.py.
    With `capture_stderr`, pyinfra's progress output is kept in the result's "stderr"; with
    `redact`, it is printed line by line as it comes, passed through `redact` first.
    """
    command = [*PYINFRA, inventory, deploy, "-y", "--json", *extra]
    with subprocess.Popen(
        command,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if capture_stderr or redact else None,
        text=True,
        env={**os.environ, **(env or {})},
    ) as process:
        if redact:  # the JSON (stdout) is read meanwhile: it may outgrow a pipe's buffer
            output: list[str] = []
            reader = threading.Thread(target=lambda: output.append(process.stdout.read()))
            reader.start()
            by_host: dict[str, deque] = defaultdict(lambda: deque(maxlen=QUOTED_LINES))
            tail: deque = deque(maxlen=QUOTED_LINES)
            for line in process.stderr:
                shown = redact(line)
                print(shown, end="", file=sys.stderr, flush=True)
                tail.append(shown.rstrip())
                tag = shown.strip().split("]", 1)[0]
                if tag.startswith("["):  # a host's line: kept to be quoted, never interpreted
                    by_host[tag[1:].strip()].append(shown.rstrip())
            reader.join()
            process.wait()
            stdout, stderr = output[0], ""
        else:
            stdout, stderr = process.communicate()
    try:
        payload = json.loads(stdout)
    except json.JSONDecodeError:
        # pyinfra prints no results when every host failed ("No hosts remaining!").
        payload = {"results": None}
    payload["exit_code"] = process.returncode
    payload["stderr"] = stderr or ""
    payload["output_by_host"] = {h: list(lines) for h, lines in by_host.items()} if redact else {}
    payload["output_tail"] = list(tail) if redact else []
    return payload


def changed_operations(payload: dict) -> list[tuple[str, str]]:
    """(host, operation name) for every operation that changed something."""
    results = payload.get("results") or {"operations": []}
    return sorted((h, op["name"]) for op in results["operations"] for h in op["success"])


def failed_operations(payload: dict, records: Iterable[dict] = ()) -> list[tuple[str, str]]:
    """(host, operation name) for every operation that failed: from pyinfra's results, or,
    when pyinfra printed none (every host failed), from the operations' record."""
    results = payload.get("results")
    if results:
        return sorted((h, op["name"]) for op in results["operations"] for h in op["error"])
    return sorted({(r["host"], r["names"][0]) for r in records if r["kind"] == "failed"})


def markdown_summary(
    inventory: str, payload: dict, seconds: float, records: Iterable[dict] = ()
) -> str:
    """What changed and what failed, per host, for a GitHub job summary: a failure with the
    host's last output lines and, for a release switch, what serves now."""
    records = list(records)
    changed, failed = changed_operations(payload), failed_operations(payload, records)
    failed_hosts = (payload.get("results") or {}).get("failed_hosts") or sorted(
        {host for host, _ in failed}
    )
    totals = (payload.get("results") or {}).get("totals", {})
    verdict = "failed" if failed or payload["exit_code"] != 0 else "succeeded"
    lines = [
        f"## Apply `{inventory}`: {verdict}",
        "",
        f"{totals.get('hosts', 0)} host-operations, {len(changed)} changed, "
        f"{len(failed)} failed, {seconds:.0f}s. Failed hosts: "
        f"{', '.join(failed_hosts) or 'none'}.",
        "",
        *(f"- changed `{host}`: {name}" for host, name in changed),
    ]
    for host, name in failed:
        lines.append(f"- **FAILED** `{host}`: {name}")
        switch = _switch_of(host, name, records)
        if switch:
            lines.append(f"  - {_switch_failure(switch)}")
        lines += _quoted(payload.get("output_by_host", {}).get(host, []))
    if payload["exit_code"] != 0 and not failed:  # it stopped before any operation ran
        lines += ["- **pyinfra stopped** before any operation failed; its last lines:"]
        lines += _quoted(payload.get("output_tail", []))
    return "\n".join(lines) + "\n\n"


def _quoted(output: list[str]) -> list[str]:
    """Redacted output lines as a code block that no line can end (its backticks replaced)."""
    if not output:
        return []
    safe = (line.replace("`", "'") for line in output)
    return ["", "  ```", *(f"  {line}" for line in safe), "  ```", ""]


def _switch_of(host: str, name: str, records: Iterable[dict]) -> dict | None:
    """The switch record of `host`'s operation `name`, if it is a release switch."""
    return next(
        (
            effect
            for effect in records
            if effect["host"] == host
            and effect["kind"] == "effect"
            and effect["effect"] == "switch"
            and runs_as(name, effect["operation"])
        ),
        None,
    )


def _switch_failure(switch: dict) -> str:
    """What a failed switch left serving: the switch script rolls back to the release that was
    current (its own report is quoted below, saying whether it could)."""
    service, version, previous = switch["service"], switch["version"], switch.get("previous")
    if previous == version:
        return f"health-gated restart of {service} {version} failed (its report below)"
    serving = (
        f"the previous release, {previous}, is serving"
        if previous
        else "no earlier release of it was serving"
    )
    return f"release switch of {service} to {version} failed and was rolled back: {serving}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inventory")
    parser.add_argument("--expect-no-change", action="store_true")
    parser.add_argument("--summary", help="append a markdown summary of the run to this file")
    parser.add_argument("--results", help="write pyinfra's JSON results to this file")
    args = parser.parse_args(argv)

    try:
        hosts = load_inventory(args.inventory)
    except SettingsError as invalid:
        print(refusal(invalid), file=sys.stderr)
        return 1
    started = time.monotonic()
    with tempfile.NamedTemporaryFile("r", suffix=".jsonl") as record:
        payload = run_pyinfra(args.inventory, redact=Redactor(inventory_secrets(hosts)),
                              env={APPLY_RECORD: record.name})  # fmt: skip
        records = [json.loads(line) for line in record.read().splitlines()]
    elapsed = time.monotonic() - started
    if args.results:
        Path(args.results).write_text(json.dumps(payload, indent=1))

    totals = (payload.get("results") or {}).get("totals", {})
    changed, failed = changed_operations(payload), failed_operations(payload, records)
    print(
        f"converge {args.inventory}: {totals.get('hosts', 0)} host-operations, "
        f"{len(changed)} changed, {len(failed)} failed, {elapsed:.1f}s"
    )
    for host, name in failed:
        print(f"  FAILED  {host}: {name}")
    if args.summary:
        with open(args.summary, "a") as summary:
            summary.write(markdown_summary(args.inventory, payload, elapsed, records))
    if failed or payload["exit_code"] != 0:
        failed_hosts = (payload.get("results") or {}).get("failed_hosts", [])
        print(f"pyinfra exit {payload['exit_code']}; failed hosts: {failed_hosts or 'none'}")
        return 1
    if args.expect_no_change and changed:
        print("idempotence gate: the second converge changed something:")
        for host, name in changed:
            print(f"  CHANGED {host}: {name}")
        return 1
    if args.expect_no_change:
        print("idempotence gate: 0 changed operations")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
