"""The layout docs/architecture.md promises: small modules, deploys that only compose."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MODULES = sorted(path for folder in ("infra", "deploys", "facts")
                 for path in (REPO / folder).rglob("*.py"))  # fmt: skip
MAX_LINES = 450


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(REPO)))
def test_a_module_stays_small(path):
    assert len(path.read_text().splitlines()) <= MAX_LINES


def _imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
             for alias in node.names}  # fmt: skip
    return names | {node.module or "" for node in ast.walk(tree)
                    if isinstance(node, ast.ImportFrom)}  # fmt: skip


@pytest.mark.parametrize(
    "path",
    [p for p in sorted((REPO / "deploys").glob("*.py")) if p.name != "all.py"],
    ids=lambda p: p.name,
)
def test_a_deploy_never_imports_another(path):
    """What two deploys share lives in infra/ (or facts/); deploys/all.py only composes."""
    assert not {name for name in _imported(path) if name.split(".")[0] == "deploys"}
