"""Render pyinfra's dry run of deploys/all.py as a markdown plan, secrets redacted.

    python -m tools.plan inventories/prod.py --output plan.md     (make plan INVENTORY=...)

It validates the settings (nothing is contacted when they are invalid), then runs
`pyinfra INVENTORY deploys/all.py --dry --json` with AKTIENANALYSE_PLAN_RECORD set:

- the JSON (stdout) says which operation would change on which host; reloads, restarts and
  switches are decided before the run (`infra.effects.run_if_changed`), so they are plain
  changes;
- the project's own operations record (infra/operations.py) every file change with its diff
  and every restart, reload or switch with why it runs, each naming its operation exactly.
  A record belongs to the operation of that name (pyinfra prefixes its deploy's name); the
  kind comes from the record, never from an operation's name. A record whose operation pyinfra
  does not list as changing is shown apart, labelled so. Nothing is read from pyinfra's human
  output.

Every secret of the inventory's hosts, and its SHA-256 (the Redis ACL file holds those), is
replaced by `[secret NAME]` before anything is printed or written.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from infra.effects import PLAN_RECORD, runs_as
from infra.hostdata import SettingsError, load_inventory, refusal
from tools.redact import Redactor, inventory_secrets

REPO = Path(__file__).resolve().parent.parent
DEPLOY = "deploys/all.py"
MARKER = "<!-- aktienanalyse-plan -->"  # lets the PR comment be found and updated


@dataclass
class Change:
    operation: str
    kind: str  # change, restart, reload, switch (a health-gated restart), maybe
    diffs: list[tuple[str, list[str]]] = field(default_factory=list)  # (header, diff lines)
    because: list[str] = field(default_factory=list)


@dataclass
class Plan:
    inventory: str
    hosts: dict[str, list[Change]]
    unchanged: list[str]
    seconds: float = 0.0

    def count(self, kind: str | None = None) -> int:
        return sum(1 for changes in self.hosts.values() for c in changes if kind in (None, c.kind))

    def summary(self) -> str:
        changing = [host for host, changes in self.hosts.items() if changes]
        if not changing:
            return f"No changes: {_count(len(self.hosts), 'host')} up to date."
        restarts = self.count("restart") + self.count("switch")  # a switch restarts instances
        text = (
            f"{_count(len(self.hosts), 'host')}, {len(changing)} changing: "
            f"{_count(self.count(), 'operation')} to change, "
            f"{_count(restarts, 'restart')}, {_count(self.count('reload'), 'reload')}"
        )
        maybe = self.count("maybe")
        return text + (f", {maybe} that may run" if maybe else "")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


EFFECTS = ("restart", "reload", "switch")
UNLISTED = "(recorded for an operation pyinfra does not list as changing)"


def build(
    inventory: str, host_names: list[str], dry_run: Mapping, records: Iterable[Mapping]
) -> Plan:
    """The plan from pyinfra's dry-run JSON and the operations' records (effects, diffs).

    A record belongs to the operation it names (`infra.effects.runs_as`): its effect gives the
    kind (without one, a plain change) and its diff goes below it. No name decides a kind or
    an owner."""
    records = list(records)
    effects = [r for r in records if r["kind"] == "effect"]
    hosts: dict[str, list[Change]] = {host: [] for host in host_names}
    listed: dict[str, list[tuple[list[str], Change]]] = {}  # host -> (pyinfra's names, change)
    unchanged = []
    for op in dry_run["plan"]:
        names = op.get("names") or [op["name"]]
        for host in op["hosts_with_change"]:
            effect = next(
                (r for r in effects if r["host"] == host and _named_any(names, r["operation"])),
                None,
            )
            kind, because = (
                (effect["effect"], list(effect["because"])) if effect else ("change", [])
            )
            listed.setdefault(host, []).append((names, Change(op["name"], kind, because=because)))
        for host in op["hosts_with_conditional_change"]:  # an `_if` pyinfra decides at run time
            listed.setdefault(host, []).append((names, Change(op["name"], "maybe")))
        if not op["hosts_with_change"] and not op["hosts_with_conditional_change"]:
            unchanged.append(op["name"])
    for host, changes in listed.items():
        hosts.setdefault(host, []).extend(change for _, change in changes)
    for record in records:
        host, operation = record["host"], record["operation"]
        owner = next((c for names, c in listed.get(host, []) if _named_any(names, operation)), None)
        if owner is None:  # a bug: shown apart, labelled, as a plain change
            what = f"{record['effect']} " if record["kind"] == "effect" else ""
            owner = Change(f"{UNLISTED} {what}{operation}", "change")
            hosts.setdefault(host, []).append(owner)
            listed.setdefault(host, []).append(([operation], owner))
        if record["kind"] == "effect":
            owner.because = owner.because or list(record["because"])
        else:
            diff = record["diff"]
            shown = diff if diff is not None else ["(content not shown: it holds secrets)"]
            owner.diffs.append((f"{record['action']} {record['path']}", shown))
    return Plan(inventory, hosts, unchanged)


def _named_any(names: list[str], operation: str) -> bool:
    return any(runs_as(name, operation) for name in names)


def render(plan: Plan) -> str:
    """The plan as markdown: summary line, then per host what changes, unchanged collapsed."""
    out = [MARKER, f"## Plan: `{plan.inventory}`", "", f"**{plan.summary()}**", ""]
    for host, changes in plan.hosts.items():
        out += [f"### {host}: {_count(len(changes), 'operation')} to change", ""]
        for change in changes:
            tag = f"**{change.kind}** " if change.kind in EFFECTS else ""
            note = (
                " *(may run: pyinfra decides this during the run)*"
                if change.kind == "maybe"
                else ""
            )
            out.append(f"- {tag}{change.operation}{note}")
            if change.because:
                out.append(f"  - because: {'; '.join(change.because)} changes")
            for header, lines in change.diffs:
                if lines and lines[0].startswith("@@"):
                    out += [f"  - {header}", "", "    ```diff"]
                    out += [*(f"    {line}" for line in lines), "    ```", ""]
                else:  # a created empty file, or one whose content is not shown
                    out.append(f"  - {header} {' '.join(lines)}".rstrip())
        out.append("")
    if plan.unchanged:
        summary = f"{_count(len(plan.unchanged), 'operation')} unchanged on every host"
        out += [
            f"<details><summary>{summary}</summary>",
            "",
            *(f"- {name}" for name in plan.unchanged),
            "",
            "</details>",
            "",
        ]
    out.append(f"_Dry run and rendering took {plan.seconds:.1f}s._")
    return "\n".join(out) + "\n"


def make_plan(inventory: str) -> tuple[Plan, Redactor]:
    """Dry-run deploys/all.py against `inventory`. Raises PlanFailed (output redacted)."""
    started = time.monotonic()
    try:
        hosts = load_inventory(inventory)
    except SettingsError as invalid:  # names host, file, key and reason, never a value
        raise PlanFailed(refusal(invalid)) from None
    redact = Redactor(inventory_secrets(hosts))
    with tempfile.NamedTemporaryFile("r", suffix=".jsonl") as record:
        result = subprocess.run(
            [sys.executable, "-m", "pyinfra", inventory, DEPLOY, "--dry", "--json"],
            cwd=REPO,
            capture_output=True,
            text=True,
            env={**os.environ, PLAN_RECORD: record.name},
        )
        records = [json.loads(line) for line in record.read().splitlines()]
    if result.returncode != 0:
        raise PlanFailed(redact(result.stderr.strip() or result.stdout.strip()))
    plan = build(inventory, list(hosts), json.loads(result.stdout), records)
    plan.seconds = time.monotonic() - started
    return plan, redact


class PlanFailed(Exception):
    """pyinfra's dry run failed; the message is its output, secrets redacted."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inventory")
    parser.add_argument("--output", help="write the markdown here (default: stdout)")
    args = parser.parse_args(argv)
    try:
        plan, redact = make_plan(args.inventory)
        text, status = redact(render(plan)), 0
        summary = redact(plan.summary())
    except PlanFailed as failure:
        tail = "\n".join(str(failure).splitlines()[-40:])
        text = "\n".join(
            [
                MARKER,
                f"## Plan: `{args.inventory}`",
                "",
                "**The dry run failed.**",
                "",
                "```",
                tail,
                "```",
                "",
            ]
        )
        status, summary = 1, f"the dry run failed:\n{tail}"
    if args.output:
        Path(args.output).write_text(text)
        print(f"plan {args.inventory}: {summary} ({args.output})")
    else:
        print(text)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
