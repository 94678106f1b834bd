"""infra.inventory.load gives every host the groups and data pyinfra's own CLI loader gives it.

pyinfra's loader (`pyinfra_cli.inventory.make_inventory`, not public API) patches the
interpreter with gevent on import, so it runs in a child process here, once per inventory.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from infra.inventory import REPO, load

CLI_LOADER = """
import json, sys
from pyinfra.api import State
from pyinfra.context import ctx_state
from pyinfra_cli.inventory import make_inventory
with ctx_state.use(State()):
    inventory = make_inventory(sys.argv[1], cwd=sys.argv[2])
print(json.dumps({h.name: {"groups": sorted(h.groups), "data": h.data.dict()}
                  for h in inventory}, sort_keys=True, default=str))
"""


def loaded_by_us(inventory_file: Path, cwd: Path) -> dict:
    inventory = load(str(inventory_file), cwd=cwd)
    hosts = {h.name: {"groups": sorted(h.groups), "data": h.data.dict()} for h in inventory}
    return json.loads(json.dumps(hosts, sort_keys=True, default=str))


def loaded_by_pyinfra(inventory_file: Path, cwd: Path) -> dict:
    run = subprocess.run(
        [sys.executable, "-c", CLI_LOADER, str(inventory_file), str(cwd)],
        cwd=cwd, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(run.stdout)


def test_the_production_inventory_loads_as_pyinfra_loads_it():
    production = REPO / "inventories" / "prod.py"
    assert loaded_by_us(production, REPO) == loaded_by_pyinfra(production, REPO)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "group_data").mkdir()
    (tmp_path / "group_data" / "all.py").write_text(textwrap.dedent("""\
        import os
        from pathlib import Path as _Path
        system = {"timezone": "UTC"}
        platform = {"user": "all"}
    """))  # fmt: skip
    (tmp_path / "group_data" / "app.py").write_text('platform = {"user": "app"}\n')
    (tmp_path / "group_data" / "db.py").write_text('__all__ = ["redis"]\nredis = {}\nskip = 1\n')
    (tmp_path / "group_data" / "orphan.py").write_text('zabbix = {"server": ["10.0.0.9"]}\n')
    (tmp_path / "inventories").mkdir()
    inventory = tmp_path / "inventories" / "site.py"
    inventory.write_text(textwrap.dedent("""\
        _shared = {"ssh_user": "ops"}
        app = [("a-1", {**_shared, "address": "10.0.0.1"}), "a-2"]
        db = [("d-1", {"address": "10.0.0.3", "platform": {"user": "host"}}), "a-2"]
    """))  # fmt: skip
    return inventory


def test_groups_host_data_and_group_data_load_as_pyinfra_loads_them(tree):
    cwd = tree.parent.parent
    assert loaded_by_us(tree, cwd) == loaded_by_pyinfra(tree, cwd)


def _refusal(tree: Path, inventory_text: str, name: str = "site.py") -> str:
    from infra.hostdata import SettingsError, load_inventory

    path = tree.parent / name
    path.write_text(inventory_text)
    with pytest.raises(SettingsError) as refused:
        load_inventory(str(path), cwd=tree.parent.parent)
    return str(refused.value)


HOST = '[("a-1", {"address": "10.0.0.1", "ssh_strict_host_key_checking": "yes"})]'


def test_an_inventory_named_like_a_group_is_refused(tree):
    """pyinfra would put every host of inventories/cache.py in the group cache."""
    assert "named like the group cache" in _refusal(tree, f"app = {HOST}\n", "cache.py")


def test_group_data_for_the_inventorys_own_group_is_refused(tree):
    (tree.parent.parent / "group_data" / "site.py").write_text('zabbix = {"server": []}\n')
    assert "group_data/site.py: site: the group of every host" in _refusal(tree, f"app = {HOST}\n")


def test_an_all_group_in_the_inventory_is_refused(tree):
    assert "all: list hosts in their groups only" in _refusal(tree, f"all = {HOST}\napp = {HOST}\n")
