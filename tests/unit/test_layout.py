"""The layout docs/architecture.md promises: small modules, deploys that only compose."""

import ast
import importlib
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


COMPOSED = [p.stem for p in sorted((REPO / "deploys").glob("*.py"))
            if p.stem not in ("__init__", "all", "rollback", "restore")]  # fmt: skip


def test_deploys_all_composes_every_deploy():
    """deploys/all.py reads each deploy's packages and facts through DEPLOYS (base: first)."""
    tree = ast.parse((REPO / "deploys" / "all.py").read_text())
    listed = next(node.value for node in tree.body if isinstance(node, ast.Assign)
                  and getattr(node.targets[0], "id", None) == "DEPLOYS")  # fmt: skip
    names = {element.elts[0].id for element in listed.elts}
    assert names | {"base"} == set(COMPOSED)


@pytest.mark.parametrize("name", COMPOSED)
def test_a_deploy_declares_packages_and_facts_and_deploys_in_apply(name):
    """`apply` is the @deploy (its operations carry the deploy's name); `facts` only declares
    what it reads; PACKAGES (or packages()) what it installs."""
    module = importlib.import_module(f"deploys.{name}")
    assert hasattr(module, "PACKAGES") or hasattr(module, "packages")
    assert callable(module.facts)
    assert hasattr(module.apply, "__wrapped__"), "apply is not a @deploy"
    assert not hasattr(module.facts, "__wrapped__"), "facts is a @deploy"


@pytest.mark.parametrize("path", sorted((REPO / "deploys").glob("*.py")), ids=lambda p: p.name)
def test_a_templated_file_is_written_one_way(path):
    """A template reaches a host through put_rendered; checked_file takes other content."""
    calls = [node for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Call)]
    rendered = [
        call.lineno
        for call in calls
        if getattr(call.func, "id", None) == "checked_file"
        for keyword in call.keywords
        if keyword.arg == "content" and "render(" in ast.unparse(keyword.value)
    ]
    assert not rendered, f"checked_file(content=render(...)) at lines {rendered}"
