"""infra/operations.py's operations, case by case, in the style of pyinfra's own tests.

Each case is one JSON file, tests/unit/operations/<operation>/<case>.json:

- "args": the operation's keyword arguments (a SecretStr argument is given as plain text)
- "facts": what host.get_fact answers, by fact class name, then by the fact's keyword
  arguments as "key=value" joined with ", " in key order (see `fact_key`); a fact the
  fixture lacks fails the test, so a fixture also says which facts the operation may read
- "commands": the commands it yields, as pyinfra prints them (a HiddenValue shows as
  *MASKED*), an upload as "upload <remote path> via <temporary path under sudo>"; or "noop":
  the no-op message
- optional "config" (pyinfra config, e.g. {"DIFF": true}), "env" (environment variables;
  "{tmp}" stands for a temporary directory), "logged" (the lines pyinfra's logger gets),
  "plan" (the entries appended to the AKTIENANALYSE_PLAN_RECORD file), "note" (why the case
  is there)

The operation's body runs through `operation._inner` (pyinfra's documented way to call it)
in a fake pyinfra context: no inventory, no connection, no host.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import typing
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import SecretStr
from pyinfra.api import FileUploadCommand, StringCommand
from pyinfra.context import ctx_host, ctx_state

from infra import effects, operations
from infra.effects import PLAN_RECORD
from infra.scram import matches

HERE = Path(__file__).parent / "operations"
# Every operation infra/operations.py defines (pyinfra's decorator leaves `_inner`).
OPERATIONS = sorted(
    name
    for name, value in vars(operations).items()
    if hasattr(value, "_inner") and value.__module__ == operations.__name__
)
CASES = sorted(HERE.glob("*/*.json"))


def case_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


IDS = [case_id(path) for path in CASES]


def fact_key(kwargs: dict[str, Any]) -> str:
    """The fixture's key for one fact call: "path=/etc/x", "a=1, b=2", "" without arguments."""
    return ", ".join(
        f"{key}={value if isinstance(value, str) else json.dumps(value)}"
        for key, value in sorted(kwargs.items())
    )


class FakeHost:
    """The parts of pyinfra's Host the operations use, answering facts from a fixture."""

    name = "app-1"
    print_prefix = "[app-1] "

    def __init__(self, facts: dict[str, dict[str, Any]]):
        self.facts = facts
        self.noops: list[str] = []
        # facts/once.py finds the host through its inventory
        self.state = SimpleNamespace(inventory=SimpleNamespace(get_host=lambda name: self))

    def get_fact(self, fact_cls, **kwargs):
        key = fact_key(kwargs)
        answers = self.facts.get(fact_cls.__name__, {})
        if key not in answers:
            pytest.fail(f"the fixture has no {fact_cls.__name__} fact for {key!r}")
        return answers[key]

    def noop(self, description: str) -> None:
        self.noops.append(description)

    def log(self, message, log_func=logging.info) -> None:
        log_func(f"{self.print_prefix}{message}")


@dataclass
class Run:
    """What one operation call did."""

    commands: list[Any]  # as yielded
    noops: list[str]
    logged: list[str]
    plan: list[dict] = field(default_factory=list)

    @property
    def printed(self) -> list[str]:
        return [as_text(command) for command in self.commands]


def as_text(command) -> str:
    """A command as pyinfra prints it: HiddenValue bits masked, an upload by its remote path."""
    if isinstance(command, FileUploadCommand):
        via = f" via {command.remote_temp_filename}" if command.remote_temp_filename else ""
        return f"upload {command.dest}{via}"
    if isinstance(command, StringCommand):
        return command.get_masked_value()
    if isinstance(command, str):
        return command
    raise TypeError(f"unexpected command {command!r}")


def as_shell(command) -> str | None:
    """The text the host's shell would get (HiddenValue unmasked); None for an upload."""
    if isinstance(command, FileUploadCommand):
        return None
    if isinstance(command, StringCommand):
        return command.get_raw_value()
    return command


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def arguments(func, args: dict[str, Any]) -> dict[str, Any]:
    """The fixture's arguments, a SecretStr parameter's value wrapped as one."""
    hints = typing.get_type_hints(func)
    return {
        name: SecretStr(value) if hints.get(name) is SecretStr else value
        for name, value in args.items()
    }


@pytest.fixture
def run(monkeypatch, tmp_path, caplog):
    """Run a case's operation body in a fake pyinfra context."""

    def run_case(path: Path) -> Run:
        case = load(path)
        func = getattr(operations, path.parent.name)._inner
        monkeypatch.delenv(PLAN_RECORD, raising=False)
        env = {
            name: value.replace("{tmp}", str(tmp_path))
            for name, value in case.get("env", {}).items()
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        config = SimpleNamespace(**{"DIFF": False, **case.get("config", {})})
        state = SimpleNamespace(config=config, is_executing=False)
        host = FakeHost(case.get("facts", {}))
        caplog.set_level(logging.DEBUG, logger="pyinfra")
        caplog.clear()
        with ctx_state.use(state), ctx_host.use(host):
            commands = list(func(**arguments(func, case["args"])))
        logged = [r.getMessage() for r in caplog.records if r.name.startswith("pyinfra")]
        record = Path(env[PLAN_RECORD]) if PLAN_RECORD in env else None
        plan = (
            [json.loads(line) for line in record.read_text().splitlines()]
            if record and record.exists()
            else []
        )
        return Run(commands, host.noops, logged, plan)

    return run_case


def cases_where(predicate) -> list:
    return [pytest.param(path, id=case_id(path)) for path in CASES if predicate(load(path))]


def test_every_operation_has_cases():
    assert sorted({path.parent.name for path in CASES}) == sorted(OPERATIONS)


def test_every_case_expects_commands_or_a_noop():
    both_or_neither = [
        case for case in map(load, CASES) if ("commands" in case) == ("noop" in case)
    ]
    assert both_or_neither == []


@pytest.mark.parametrize("path", CASES, ids=IDS)
def test_commands(run, path):
    assert run(path).printed == load(path).get("commands", [])


@pytest.mark.parametrize("path", CASES, ids=IDS)
def test_noop(run, path):
    expected = [load(path)["noop"]] if "noop" in load(path) else []
    assert run(path).noops == expected


@pytest.mark.parametrize("path", cases_where(lambda case: "commands" in case))
def test_commands_parse_as_shell(run, path):
    scripts = [script for script in map(as_shell, run(path).commands) if script is not None]
    broken = {
        script: result.stderr
        for script in scripts
        if (
            result := subprocess.run(["bash", "-n", "-c", script], capture_output=True, text=True)
        ).returncode
    }
    assert broken == {}


@pytest.mark.parametrize("path", CASES, ids=IDS)
def test_logged(run, path):
    assert run(path).logged == load(path).get("logged", [])


@pytest.mark.parametrize("path", CASES, ids=IDS)
def test_plan_record(run, path):
    assert run(path).plan == load(path).get("plan", [])


def secrets_of(case: dict) -> list[str]:
    """Text that must never be printed, logged or recorded: secret arguments, sensitive files."""
    args = case["args"]
    if args.get("sensitive"):
        return [line for line in args["content"].splitlines() if line.strip()]
    if "password" in args:
        return [args["password"]]
    return []


@pytest.mark.parametrize("path", cases_where(secrets_of))
def test_secrets_are_never_shown(run, path):
    done = run(path)
    shown = "\n".join([*done.printed, *done.logged, json.dumps(done.plan)])
    assert [secret for secret in secrets_of(load(path)) if secret in shown] == []


VERIFIER = re.compile(r"PASSWORD \$verifier\$(.*)\$verifier\$;")


@pytest.mark.parametrize(
    "path", cases_where(lambda case: "password" in case["args"] and "commands" in case)
)
def test_role_password_sends_a_fresh_verifier_of_the_password_only_on_stdin(run, path):
    commands = run(path).commands
    (upload,) = [c for c in commands if isinstance(c, FileUploadCommand)]
    verifier = VERIFIER.search(upload.src.getvalue()).group(1)
    (stored,) = load(path)["facts"]["PostgresqlRoleVerifier"].values()
    command_lines = [as_shell(c) for c in commands if not isinstance(c, FileUploadCommand)]
    assert (
        matches(load(path)["args"]["password"], verifier),
        verifier != stored,
        any(verifier in line for line in command_lines),
        load(path)["args"]["password"] in upload.src.getvalue(),
        upload.remote_temp_filename.startswith(
            load(path)["facts"]["PrivateUploadDir"]["_sudo=false"]
        ),
    ) == (True, True, False, False, True)


@pytest.mark.parametrize(
    "path", cases_where(lambda case: "content" in case["args"] and "commands" in case)
)
def test_checked_file_uploads_the_content_through_the_private_directory(run, path):
    (upload,) = [c for c in run(path).commands if isinstance(c, FileUploadCommand)]
    private = load(path)["facts"]["PrivateUploadDir"]["_sudo=false"]
    assert upload.src.getvalue() == load(path)["args"]["content"]
    assert upload.remote_temp_filename.startswith(private + "/")


def recorded_effects(monkeypatch, tmp_path, call) -> tuple[list[dict], list[dict]]:
    """What `call` (of a plan-recording helper) records, and the operation calls it makes."""
    record = tmp_path / "plan.jsonl"
    monkeypatch.setenv(PLAN_RECORD, str(record))
    called: list[dict] = []
    with ctx_host.use(FakeHost({})):
        call(lambda **kwargs: called.append(kwargs))
    lines = record.read_text().splitlines() if record.exists() else []
    return [json.loads(line) for line in lines], called


def test_run_if_changed_records_its_effect_under_the_exact_name(monkeypatch, tmp_path):
    watched = {
        "x configuration": SimpleNamespace(will_change=True),
        "x certificate": SimpleNamespace(will_change=False),
        "x unit": None,  # not called
    }
    records, called = recorded_effects(
        monkeypatch,
        tmp_path,
        lambda op: effects.run_if_changed(watched, op, effect="reload", name="Update x"),
    )
    assert (records, called) == (
        [{"host": "app-1", "kind": "effect", "operation": "Update x", "effect": "reload",
          "because": ["x configuration"]}],
        [{"name": "Update x"}],
    )  # fmt: skip


def test_run_if_changed_without_a_change_records_and_calls_nothing(monkeypatch, tmp_path):
    watched = {"x configuration": SimpleNamespace(will_change=False)}
    assert recorded_effects(
        monkeypatch,
        tmp_path,
        lambda op: effects.run_if_changed(watched, op, effect="restart", name="Restart x"),
    ) == ([], [])


@pytest.mark.parametrize(
    ("effect", "operation", "arguments"),
    [
        ("restart", "service", {"reloaded": True}),
        ("reload", "service", {"restarted": True}),
        ("switch", "service", {"restarted": True}),
        ("restart", "switch_release", {}),
        ("bounce", "other", {}),
    ],
)
def test_an_effect_the_call_does_not_have_is_refused(effect, operation, arguments):
    op = {"service": operations.systemd.service, "switch_release": operations.switch_release}
    with pytest.raises(ValueError):
        effects.run_with_effect(effect, op.get(operation, print), name="x", **arguments)
