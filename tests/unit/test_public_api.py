"""The project uses pyinfra's public API only: no private attribute, no scraping of its
human output (a pyinfra upgrade could break either silently)."""

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CODE = sorted(
    path
    for folder in ("deploys", "infra", "facts", "tools", "inventories", "group_data")
    for path in (REPO / folder).rglob("*.py")
)
FORBIDDEN = {
    "a private attribute of a pyinfra object": re.compile(r"\b(meta|op|host|state)\._[a-z]\w*"),
    "an operation hash": re.compile(r"\b_hash\b|op_hash"),
    "pyinfra's human diff output": re.compile(r"Will (modify|create)"),
    "pyinfra's stderr": re.compile(r"\.stderr\b.*(diff|parse)|parse\w*\(.*stderr"),
    "pyinfra's CLI package": re.compile(r"\bpyinfra_cli\b"),
    "a private pyinfra module": re.compile(r"\bpyinfra\.(\w+\.)*(util|connectors)\b"),
}


@pytest.mark.parametrize("path", CODE, ids=lambda p: str(p.relative_to(REPO)))
def test_no_pyinfra_internals(path):
    text = path.read_text()
    found = [what for what, pattern in FORBIDDEN.items() if pattern.search(text)]
    assert not found, f"{path.relative_to(REPO)} uses {', '.join(found)}"
