"""Render pyinfra's dry run of deploys/all.py as a markdown plan, secrets redacted.

    python -m deploys.plan inventories/prod.py --output plan.md     (make plan INVENTORY=...)

It runs `pyinfra INVENTORY deploys/all.py --dry --diff --json`:

- the JSON (stdout) says which operation would change on which host;
- the diffs come from pyinfra's output (stderr): files.put and checked_file print
  "[host] Will modify PATH" and a diff below it; a diff belongs to the changing operation
  whose name holds PATH;
- operations that run only after others changed (reloads, restarts: `run_if_changed`) are
  decided from the dependencies the deploy notes for the plan, since pyinfra cannot evaluate
  `_if` before a run. One without a note is listed as "may run".

Every secret of the inventory's hosts, and its SHA-256 (the Redis ACL file holds those), is
replaced by `[secret NAME]` before anything is printed or written.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from deploys.inventory import load_inventory_file

REPO = Path(__file__).resolve().parent.parent
DEPLOY = "deploys/all.py"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
DIFF_HEADER = re.compile(
    r"^(?P<indent>\s*)\[(?P<host>[^\]]+)\]\s+Will (?P<verb>modify|create) (?P<path>\S+)\s*$"
)
MARKER = "<!-- aktienanalyse-plan -->"  # lets the PR comment be found and updated


class Redactor:
    """Replaces every secret value (and derived form) in a text by `[secret NAME]`."""

    def __init__(self, secrets: Mapping[str, str]):
        tokens: dict[str, str] = {}
        for name, value in secrets.items():
            if not value:
                continue
            label = f"[secret {name}]"
            tokens[value] = label
            tokens[hashlib.sha256(value.encode()).hexdigest()] = label
            for line in value.splitlines():  # a PEM's lines, should a diff split it
                line = line.strip()
                if len(line) >= 16 and not line.startswith("-----"):
                    tokens[line] = label
        # Longest first, so a secret that contains another is replaced whole.
        self._tokens = sorted(tokens.items(), key=lambda item: -len(item[0]))

    def __call__(self, text: str) -> str:
        for token, label in self._tokens:
            text = text.replace(token, label)
        return text


def inventory_secrets(hosts: Mapping[str, Mapping]) -> dict[str, str]:
    """name → value of every secret the hosts have; one per value where hosts differ."""
    secrets: dict[str, str] = {}
    for host, data in hosts.items():
        for name, value in data["settings"].secrets.items():
            value = value.get_secret_value()
            secrets[name if secrets.get(name, value) == value else f"{name} ({host})"] = value
    return secrets


@dataclass
class Change:
    operation: str
    kind: str  # change, restart, reload, maybe
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
        text = (
            f"{_count(len(self.hosts), 'host')}, {len(changing)} changing: "
            f"{_count(self.count(), 'operation')} to change, "
            f"{_count(self.count('restart'), 'restart')}, {_count(self.count('reload'), 'reload')}"
        )
        maybe = self.count("maybe")
        return text + (f", {maybe} that may run" if maybe else "")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def kind_of(name: str) -> str:
    if re.search(r"\b(restart|switch)\b", name, re.IGNORECASE):
        return "restart"  # a release switch restarts the service's instances
    if re.search(r"\breload\b", name, re.IGNORECASE):
        return "reload"
    return "change"


def parse_diffs(stderr: str) -> dict[str, list[tuple[str, list[str]]]]:
    """host → [(\"modify /path\", unified diff lines)] from pyinfra's --diff output."""
    diffs: dict[str, list[tuple[str, list[str]]]] = {}
    lines = ANSI.sub("", stderr).splitlines()
    index = 0
    while index < len(lines):
        header = DIFF_HEADER.match(lines[index])
        index += 1
        if not header:
            continue
        body_indent = len(header["indent"]) + 2
        body: list[str] = []
        while index < len(lines) and lines[index].strip() and lines[index][:body_indent].isspace():
            body.append(_unified(lines[index][body_indent:]))
            index += 1
        diffs.setdefault(header["host"], []).append((f"{header['verb']} {header['path']}", body))
    return diffs


def _unified(line: str) -> str:
    """pyinfra's diff line ("+ new", "- old", "  same", "@@ …") as a unified diff line."""
    if line[:2] in ("+ ", "- "):
        return line[0] + line[2:]
    if line.startswith("  "):
        return " " + line[2:]
    return line


def build(
    inventory: str,
    host_names: list[str],
    dry_run: Mapping,
    stderr: str,
    conditions: Iterable[Mapping],
) -> Plan:
    """The plan from pyinfra's dry-run JSON, its diff output and the noted conditions."""
    operations = dry_run["plan"]
    names = {op["op_hash"]: op["name"] for op in operations}
    watched: dict[tuple[str, str], list[str]] = {
        (note["host"], note["op"]): note["watched"] for note in conditions
    }
    diffs = parse_diffs(stderr)
    hosts: dict[str, list[Change]] = {host: [] for host in host_names}
    changes_on: dict[str, set[str]] = {}  # host → op hashes that will change
    maybe: set[tuple[str, str]] = set()  # (host, op hash) that may change
    for op in operations:
        for host in op["hosts_with_change"]:
            changes_on.setdefault(host, set()).add(op["op_hash"])
            hosts.setdefault(host, []).append(Change(op["name"], kind_of(op["name"])))
        for host in op["hosts_with_conditional_change"]:
            triggers = watched.get((host, op["op_hash"]))
            if triggers is None or any((host, t) in maybe for t in triggers):
                hosts.setdefault(host, []).append(Change(op["name"], "maybe"))
                maybe.add((host, op["op_hash"]))
                continue
            because = [names[t] for t in triggers if t in changes_on.get(host, set())]
            if because:
                changes_on.setdefault(host, set()).add(op["op_hash"])
                hosts.setdefault(host, []).append(
                    Change(op["name"], kind_of(op["name"]), because=because)
                )
    for host, host_diffs in diffs.items():
        for header, lines in host_diffs:
            path = header.split(" ", 1)[1]
            owner = next((c for c in hosts.get(host, []) if path in c.operation.split()), None)
            if owner is None:
                owner = Change(f"(file outside any changing operation) {path}", "change")
                hosts.setdefault(host, []).append(owner)
            owner.diffs.append((header, lines))
    unchanged = [
        op["name"]
        for op in operations
        if not any(op["op_hash"] == hash_ for _, hash_ in maybe)
        and not any(op["op_hash"] in changed for changed in changes_on.values())
    ]
    return Plan(inventory, hosts, unchanged)


def render(plan: Plan) -> str:
    """The plan as markdown: summary line, then per host what changes, unchanged collapsed."""
    out = [MARKER, f"## Plan: `{plan.inventory}`", "", f"**{plan.summary()}**", ""]
    for host, changes in plan.hosts.items():
        out += [f"### {host}: {_count(len(changes), 'operation')} to change", ""]
        for change in changes:
            tag = f"**{change.kind}** " if change.kind in ("restart", "reload") else ""
            note = (
                " *(may run: pyinfra decides this during the run)*"
                if change.kind == "maybe"
                else ""
            )
            out.append(f"- {tag}{change.operation}{note}")
            if change.because:
                out.append(f"  - because: {'; '.join(change.because)}")
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
        hosts = load_inventory_file(inventory)
    except SystemExit as invalid:  # settings errors name file, key and reason, never a value
        raise PlanFailed(str(invalid)) from None
    redact = Redactor(inventory_secrets(hosts))
    environment = dict(os.environ)
    with tempfile.NamedTemporaryFile("r", suffix=".jsonl") as notes:
        environment["AKTIENANALYSE_PLAN_CONDITIONS"] = notes.name
        result = subprocess.run(
            [sys.executable, "-m", "pyinfra", inventory, DEPLOY, "--dry", "--diff", "--json"],
            cwd=REPO,
            capture_output=True,
            text=True,
            env=environment,
        )
        conditions = [json.loads(line) for line in notes.read().splitlines()]
    if result.returncode != 0:
        raise PlanFailed(redact(result.stderr.strip() or result.stdout.strip()))
    plan = build(inventory, list(hosts), json.loads(result.stdout), result.stderr, conditions)
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
