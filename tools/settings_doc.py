"""docs/settings.md's settings table, generated from infra/settings/'s models: no drift.

python -m tools.settings_doc --write docs/settings.md   # regenerate (make docs)
python -m tools.settings_doc --check docs/settings.md   # fail if out of date (unit test)

Without a path, --write and --check use docs/settings.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Annotated, get_args, get_origin

from pydantic import AnyUrl, BaseModel
from pydantic_core import PydanticUndefined

from infra.settings import (
    CLUSTER_SECRETS,
    DEFAULT_JOBS,
    DEFAULT_SERVICES,
    SECRET_OWNERS,
    SERVICES,
    Job,
    Operator,
    SecretName,
    Service,
    Settings,
)

START, END = "<!-- settings:start -->", "<!-- settings:end -->"
DEFAULT_TARGET = Path(__file__).resolve().parent.parent / "docs" / "settings.md"


def _type_name(annotation) -> str:
    """A readable type: `str`, `int, optional`, `URL`, `list`."""
    args = [a for a in get_args(annotation) if a is not type(None)]
    if len(args) < len(get_args(annotation)):  # X | None
        return f"{_type_name(args[0] if len(args) == 1 else annotation)}, optional"
    if get_origin(annotation) is Annotated:
        return _type_name(args[0])
    if isinstance(annotation, type) and issubclass(annotation, AnyUrl):
        return "URL"
    text = getattr(get_origin(annotation), "__name__", None) or getattr(
        annotation, "__name__", None
    )
    return text or str(annotation).replace("typing.", "")


def _default(field) -> str:
    if field.default is not PydanticUndefined:
        return f"`{field.default!r}`" if field.default not in (None, [], {}) else "none"
    return "required"


def _rows(prefix: str, model: type[BaseModel]) -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        rows.append(
            f"| `{prefix}{name}` | {_type_name(field.annotation)} | {_default(field)} "
            f"| {field.description or ''} |"
        )
    return rows


def table() -> str:
    fields = Settings.model_fields
    lines = ["| setting | type | default | meaning |", "| --- | --- | --- | --- |"]
    sections = (
        "system",
        "platform",
        "releases",
        "haproxy",
        "postgresql",
        "redis",
        "backup",
        "updates",
        "zabbix",
    )
    for section in sections:
        lines += _rows(f"{section}.", fields[section].annotation)
    lines.append(f"| `operators` | list | none | {fields['operators'].description} |")
    lines += _rows("operators[].", Operator)
    for name, field in Service.model_fields.items():
        defaults = {repr(DEFAULT_SERVICES[s].model_dump()[name]) for s in SERVICES}
        default = _default(field) if len(defaults) == 1 else "per service, below"
        lines.append(
            f"| `services.<service>.{name}` | {_type_name(field.annotation)} | {default} "
            f"| {field.description} |"
        )
    lines.append(
        f"| `jobs` | dict | `{', '.join(DEFAULT_JOBS)}` (below) | {fields['jobs'].description} |"
    )
    lines += _rows("jobs.<name>.", Job)
    for secret in get_args(SecretName):
        needed = f"required on {SECRET_OWNERS[secret]} hosts"
        if secret in CLUSTER_SECRETS:
            needed = f"required on {SECRET_OWNERS[secret]} hosts of a cluster (2 or more)"
        lines.append(
            f'| `secrets.{secret}` | `{{"env": NAME}}` or `{{"file": PATH}}` | {needed} '
            "| secret reference, resolved before any host is contacted |"
        )
    lines += ["", "Default jobs (seed 003's weekly maintenance):", ""]
    lines += ["| job | schedule | run_as | command |", "| --- | --- | --- | --- |"]
    for name, job in DEFAULT_JOBS.items():
        command = " ".join(job.command)
        lines.append(f"| `{name}` | `{job.schedule}` | {job.run_as} | `{command}` |")
    lines += ["", "Per-service defaults (seeds 000 §1.2 and 003; instances: seed 001):", ""]
    lines += [
        "| service | port | instances (ports) | memory_max | cpu_quota |",
        "| --- | --- | --- | --- | --- |",
    ]
    for service in SERVICES:
        s = DEFAULT_SERVICES[service]
        ports = f"{s.instances} ({', '.join(map(str, s.ports))})"
        lines.append(f"| `{service}` | {s.port} | {ports} | {s.memory_max} | {s.cpu_quota}% |")
    return "\n".join(lines) + "\n"


def replace_table(readme: str) -> str:
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table()}{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", type=Path, nargs="?", const=DEFAULT_TARGET)
    mode.add_argument("--check", type=Path, nargs="?", const=DEFAULT_TARGET)
    args = parser.parse_args(argv)
    path = args.write or args.check
    current = path.read_text()
    wanted = replace_table(current)
    if args.write:
        path.write_text(wanted)
        return 0
    if current != wanted:
        print(f"{path}: settings table is out of date; run `make docs`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
