"""The lab's containers, as `python -m lab up` wrote them to .lab/hosts.json.

Lab-only settings are host data here: the apt cache on the bridge, a test operator, the
secrets the lab generated under .lab/secrets/, the fixture wheelhouse and versions, and the
Zabbix pollers. Everything else comes from group_data/ like production. Tests that converge
with changed settings pass them as JSON in AKTIENANALYSE_LAB_SETTINGS; they are merged over
these, field by field.
"""

import json
import os
from pathlib import Path

from infra.hostdata import check_before_connecting
from infra.settings import SERVICES as _SERVICES  # a tuple: pyinfra would take it for a group
from lab.settings import deep_merge

check_before_connecting(__file__)

_LAB = Path(os.environ.get("LAB_DIR", Path(__file__).resolve().parent.parent / ".lab"))
_MANIFEST_FILE = _LAB / "hosts.json"
if not _MANIFEST_FILE.exists():
    raise SystemExit(f"{_MANIFEST_FILE} not found: bring the lab up first (make lab)")
_manifest = json.loads(_MANIFEST_FILE.read_text())
_secrets_dir = Path(_manifest["secrets_dir"])


def _secret_reference(path: Path) -> dict:
    """From its file; or, as in production, from AKTIENANALYSE_<NAME>, but only when asked
    with AKTIENANALYSE_LAB_SECRETS_FROM_ENV=1 (the workflows run by act in
    tests/acceptance/test_workflows.py): a shell that exported production's secrets for a
    converge by hand must not send them into the lab."""
    variable = f"AKTIENANALYSE_{path.name.upper()}"
    from_env = os.environ.get("AKTIENANALYSE_LAB_SECRETS_FROM_ENV") == "1"
    return {"env": variable} if from_env and variable in os.environ else {"file": str(path)}


_settings = {
    "system": {"apt_proxy": _manifest["apt_proxy"]},
    "operators": [
        {
            "name": _manifest["operator"],
            "ssh_keys": [(_LAB / "id_ed25519.pub").read_text().strip()],
        },
    ],
    "secrets": {path.name: _secret_reference(path) for path in sorted(_secrets_dir.iterdir())},
    # The fixture services (tests/fixtures), built by `python -m tests.fixtures.build`.
    "releases": {"wheelhouse": str(_LAB / "wheelhouse"), "health_timeout": 10},
    "services": {name: {"version": "1.0.0"} for name in _SERVICES},
    # No Zabbix server in the lab: the control machine and the lab hosts may poll the agents.
    "zabbix": {
        "server": [_manifest["bridge"]["address"], *(h["address"] for h in _manifest["hosts"])],
        "server_active": None,
    },
}
# The broker's API credentials (seed 000): a per-service secret only broker-gateway receives.
_settings["services"]["broker-gateway"]["secrets"] = {
    path.name: {"file": str(path)} for path in sorted((_LAB / "service-secrets").glob("*"))
}
_settings = deep_merge(_settings, json.loads(os.environ.get("AKTIENANALYSE_LAB_SETTINGS", "{}")))

# As production: a non-root operator (`ops`, made by `python -m lab up` with the key and sudo
# production's provisioning gives `deploy`) with sudo, host keys pinned.
_connection = {
    "ssh_user": _manifest["operator"],
    "_sudo": True,
    "ssh_config_file": _manifest["ssh_config"],
    "ssh_known_hosts_file": _manifest["known_hosts"],
    "ssh_strict_host_key_checking": "yes",
}


def _machine(host: dict) -> dict:
    """The container's limits as `python -m lab up` set them (a cluster member declares its)."""
    return {"memory": f"{host['memory_mib']}M", "cpus": len(host["cpus"].split(","))}


# Hosts left out of this run (comma-separated names): `make acceptance TOPOLOGY=ha` converges
# without data-2 first, so the next converge grows PostgreSQL from one host to a cluster.
_excluded = set(filter(None, os.environ.get("AKTIENANALYSE_LAB_EXCLUDE", "").split(",")))
_hosts = {
    host["name"]: (
        {**_connection, "address": host["address"], "machine": _machine(host), **_settings},
        host["groups"],
    )
    for host in _manifest["hosts"]
    if host["name"] not in _excluded
}

lb = [(name, data) for name, (data, groups) in _hosts.items() if "lb" in groups]
app = [(name, data) for name, (data, groups) in _hosts.items() if "app" in groups]
db = [(name, data) for name, (data, groups) in _hosts.items() if "db" in groups]
cache = [(name, data) for name, (data, groups) in _hosts.items() if "cache" in groups]
monitoring = [(name, data) for name, (data, groups) in _hosts.items() if "monitoring" in groups]
voter = [(name, data) for name, (data, groups) in _hosts.items() if "voter" in groups]
backup = [(name, data) for name, (data, groups) in _hosts.items() if "backup" in groups]
