"""The project's facts, case by case, in the style of pyinfra's own fact tests.

Each case is one JSON file, tests/unit/facts/<FactName>/<case>.json:

- "arguments": the fact's keyword arguments
- "command": the exact shell command the fact runs for them
- "output": the command's output lines on a host
- "fact": the value a deploy gets from host.get_fact, as JSON: sets as sorted lists, int dict
  keys as strings (see `normalise`)
- optional "note": why the case is there

Like pyinfra (pyinfra/api/facts.py), a fact's value is `default()` when the command printed
nothing, and `process(output)` otherwise.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pyinfra.api import FactBase, StringCommand

import facts
from facts.files import FilesIn
from facts.snapshot import Snapshot


def _project_facts() -> dict[str, type[FactBase]]:
    """Every fact the facts package defines, found in its modules: a new fact without cases
    fails test_every_fact_has_cases."""
    found = {}
    for module in pkgutil.iter_modules(facts.__path__):
        for value in vars(importlib.import_module(f"facts.{module.name}")).values():
            if (isinstance(value, type) and issubclass(value, FactBase)
                    and value.__module__ == f"facts.{module.name}"):  # fmt: skip
                found[value.__name__] = value
    return found


FACTS = _project_facts()
HERE = Path(__file__).parent / "facts"
CASES = sorted(HERE.glob("*/*.json"))
IDS = [f"{path.parent.name}/{path.stem}" for path in CASES]


def load(path: Path) -> tuple[FactBase, dict]:
    return FACTS[path.parent.name](), json.loads(path.read_text())


def normalise(value: Any) -> Any:
    """A fact's value as its JSON fixture spells it: sets sorted, int keys as strings."""
    return json.loads(json.dumps(value, default=sorted))


def gathered(fact: FactBase, output: list[str]) -> Any:
    """What host.get_fact returns for this output (pyinfra/api/facts.py's _get_fact)."""
    return fact.process(output) if output else fact.default()


def command_text(command: str | StringCommand) -> str:
    return command.get_raw_value() if isinstance(command, StringCommand) else command


def test_every_fact_has_cases():
    assert sorted({path.parent.name for path in CASES}) == sorted(FACTS)


@pytest.mark.parametrize("path", CASES, ids=IDS)
def test_command(path):
    fact, case = load(path)
    assert command_text(fact.command(**case["arguments"])) == case["command"]


@pytest.mark.parametrize("path", CASES, ids=IDS)
def test_command_parses_as_shell(path):
    fact, case = load(path)
    script = command_text(fact.command(**case["arguments"]))
    result = subprocess.run(["bash", "-n", "-c", script], capture_output=True, text=True)
    assert result.stderr == ""


@pytest.mark.parametrize("path", CASES, ids=IDS)
def test_fact(path):
    fact, case = load(path)
    assert normalise(gathered(fact, case["output"])) == case["fact"]


def test_a_snapshot_run_by_a_real_shell_answers_every_section(tmp_path):
    """The snapshot's command through sh on this machine: each fact gets its own section."""
    (tmp_path / "a.conf").write_text("x\n")
    facts = [
        ("facts.files.FilesIn", {"directory": str(tmp_path)}),
        ("pyinfra.facts.server.Timezone", {}),
        ("facts.accounts.Accounts", {}),
    ]
    command = Snapshot().command(facts=facts, nonce="5eed")
    output = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True)
    sections = Snapshot().process(output.stdout.splitlines())
    assert len(sections) == 3 and all(section for section in sections)


def test_a_file_name_cannot_forge_an_entry(tmp_path):
    """Run by a real shell: a name holding a newline and a forged listing line (claiming a
    world-writable file is 0644) is left out; the real file keeps its own mode."""
    (tmp_path / "app.conf").write_text("real\n")
    (tmp_path / "app.conf").chmod(0o666)
    (tmp_path / "x\nstat\tapp.conf\tf\t644\troot\troot").write_text("")
    output = subprocess.run(
        ["sh", "-c", FilesIn().command(directory=str(tmp_path))],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    listing = FilesIn().process(output.stdout.splitlines())
    assert set(listing) == {".", "app.conf"}
    assert listing["app.conf"]["mode"] == 666
