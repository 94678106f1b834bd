"""An inventory file and its group data, loaded in this process as pyinfra's CLI loads them.

pyinfra's public API builds an `Inventory` from hosts, groups and data, and its host data
applies pyinfra's precedence (`--data`, host, groups, `all`); reading an inventory *file* and
`group_data/*.py` is its CLI's job, which has no public function (and patches the interpreter
with gevent on import). `load()` reads the files by the rules pyinfra documents and hands them
to `pyinfra.api.Inventory`: the precedence is pyinfra's own. tests/unit/test_inventory.py
checks the result against pyinfra's CLI loader for the repository's inventories.

`host_views()` turns either inventory (this one, or the one a pyinfra run loaded) into
`HostView`s: a host's groups, its data as pyinfra gives it, and which file holds each key.
"""

from __future__ import annotations

import ast
import runpy
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parent.parent


class InventoryError(Exception):
    """The inventory or a group data file could not be loaded; str() is one line or a list."""


@dataclass(frozen=True)
class HostView:
    """One host as pyinfra loaded it: its groups, its data (pyinfra's `host.data`), and the
    layers that data came from, highest precedence first, to name the file of a key."""

    name: str
    groups: tuple[str, ...]
    layers: tuple[tuple[str, Mapping[str, Any]], ...]  # (where, data)
    data: Any  # pyinfra's HostData

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def has(self, key: str) -> bool:
        return any(key in data for _, data in self.layers)

    def source(self, key: str) -> str:
        """The file that holds the value this host sees for `key`."""
        return next((where for where, data in self.layers if key in data), "defaults")


def relative(path: str | Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def host_views(inventory, inventory_file: str) -> list[HostView]:
    """Every host of a pyinfra Inventory with its data layers (public Inventory API only)."""
    label = relative(inventory_file)
    ignored = {Path(inventory_file).stem}  # pyinfra's group named after the inventory file
    views = []
    for host in inventory:
        groups = tuple(g for g in host.groups if g not in ignored)
        layers = [
            ("--data", inventory.get_override_data() or {}),
            (f"{label} (host {host.name})", inventory.get_host_data(host.name)),
            # pyinfra lets the group listed last win; validation refuses the ambiguity.
            *((f"group_data/{g}.py", inventory.get_group_data(g)) for g in reversed(groups)),
            ("group_data/all.py", inventory.get_data()),
        ]
        views.append(HostView(host.name, groups, tuple(layers), host.data))
    return views


def load(inventory_file: str, cwd: Path = REPO):
    """The pyinfra Inventory of an inventory file and the group data in
    `cwd`/group_data and the inventory's folder's group_data. Raises InventoryError."""
    from pyinfra.api import Inventory

    label = relative(inventory_file)
    names = _run(inventory_file) if Path(inventory_file).is_file() else {}
    problems = shape_problems(names, label)
    if problems:
        raise InventoryError("\n".join(problems))
    groups = {k: v for k, v in names.items() if _is_group(k, v)}
    listed = [h if isinstance(h, str) else h[0] for hosts in groups.values() for h in hosts]
    all_hosts = list(dict.fromkeys(listed))
    folders = [Path(cwd) / "group_data", Path(inventory_file).resolve().parent / "group_data"]
    group_data: dict[str, dict[str, Any]] = {}
    for folder in dict.fromkeys(folders):
        for name, data in _group_data(folder).items():
            group_data.setdefault(name, {}).update(data)
    all_data = group_data.pop("all", {})
    groups.setdefault(Path(inventory_file).stem, all_hosts)
    with_data = {name: (hosts, group_data.pop(name, {})) for name, hosts in groups.items()}
    with_data |= {name: ([], data) for name, data in group_data.items()}
    return Inventory((all_hosts, all_data), **with_data)


def _run(filename: str | Path) -> dict[str, Any]:
    try:
        return runpy.run_path(str(filename))
    except Exception as exc:  # a syntax error, a missing file, an error raised by the file
        raise InventoryError(one_line(exc, str(filename))) from None


def _is_group(key: str, value: Any) -> bool:
    return not key.startswith("_") and isinstance(value, list)


def _group_data(folder: Path) -> dict[str, dict[str, Any]]:
    """group → data of each `*.py` in `folder`: its names, but not those its imports bind."""
    found = {}
    for file in sorted(folder.glob("*.py")) if folder.is_dir() else []:
        names = _run(file)
        keys = names["__all__"] if "__all__" in names else set(names) - _imported(file)
        found[file.stem] = {k: v for k, v in names.items() if k in keys and not k.startswith("__")}
    return found


def _imported(file: Path) -> set[str]:
    tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
    return {
        alias.asname or alias.name.split(".")[0]
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
        if alias.name != "*"
    }


def shape_problems(names: Mapping[str, Any], label: str) -> list[str]:
    """An inventory module's public names as pyinfra reads them: each (besides imports) is a
    group, a list of hosts, each host a name or a (name, data dict) pair. pyinfra silently
    skips a group of another shape, drops data of a host of another shape, and merges a host's
    entries in group order; a host's data key with two values would depend on that order."""
    problems = []
    if "all" in names:  # pyinfra would take it as the whole host list, beside the groups
        problems.append(f"{label}: all: list hosts in their groups only (every host is in all)")
    seen: dict[tuple[str, str], Any] = {}  # (host, key) -> value
    for group, hosts in names.items():
        if group.startswith("_") or isinstance(hosts, ModuleType | type) or callable(hosts):
            continue
        if not isinstance(hosts, list):
            problems.append(
                f"{label}: {escaped(group)}: a group is a list of hosts (group "
                "settings go in group_data/; helpers' names start with _)"
            )
            continue
        for index, entry in enumerate(hosts):
            name, data = (entry, {}) if isinstance(entry, str) else (None, None)
            if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str):
                name, data = entry
            if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
                problems.append(
                    f"{label}: {escaped(group)}.{index}: a host is a name or a "
                    "(name, data) pair, data a dict with string keys"
                )
                continue
            for key, value in data.items():
                if seen.setdefault((name, key), value) != value:
                    problems.append(
                        f"{label}: {escaped(name)}: {escaped(key)}: two values in "
                        "the host's entries; give its data once"
                    )
    return problems


def not_plain_data(node: Any, path: str) -> str | None:
    """The dotted key of the first thing under `node` that is not plain data (a set, a Path,
    a function, a dict key that is no string), if any: settings are what JSON can carry."""
    if isinstance(node, Mapping):
        if not all(isinstance(key, str) for key in node):
            return path
        children = [(f"{path}.{key}", value) for key, value in node.items()]
    elif isinstance(node, list | tuple):
        children = [(f"{path}.{index}", value) for index, value in enumerate(node)]
    else:
        return None if node is None or isinstance(node, str | int | float | bool) else path
    return next(filter(None, (not_plain_data(value, where) for where, value in children)), None)


def escaped(text: str) -> str:
    """Text from settings (a key, a host name) as it may appear in a message: one line."""
    return text.encode("unicode_escape").decode()


def one_line(exc: BaseException, filename: str) -> str:
    """An error loading a file, as `file:line: message` (the file that raised it, and its
    line), never a traceback."""
    if isinstance(exc, SyntaxError):
        return f"{relative(exc.filename or filename)}:{exc.lineno}: {exc.msg}"
    lines = [
        line
        for frame, line in traceback.walk_tb(exc.__traceback__)
        if frame.f_code.co_filename == filename
    ]
    where = f"{relative(filename)}:{lines[-1]}" if lines else relative(filename)
    return f"{where}: {type(exc).__name__}: {' '.join(str(exc).splitlines())}"
