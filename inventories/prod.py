"""Production: one LXC container in every group (seed 000: 10.1.1.110).

pyinfra connects as $AKTIENANALYSE_SSH_USER (default `deploy`, an operator from group data)
and uses sudo. Host keys are pinned in inventories/known_hosts: never disable checking.
Secrets come from the environment, see group_data/all.py and README.md.
"""

import os
from pathlib import Path

from deploys.inventory import HostSpec, build_groups

_connection = {
    "ssh_user": os.environ.get("AKTIENANALYSE_SSH_USER", "deploy"),
    "ssh_known_hosts_file": str(Path(__file__).with_name("known_hosts")),
    "ssh_strict_host_key_checking": "yes",
    "_sudo": True,
}
_hosts = {
    "aktienanalyse-prod": HostSpec(
        address="10.1.1.110",
        groups=["lb", "app", "db", "cache"],
        connection={**_connection, "ssh_hostname": "10.1.1.110"},
    ),
}

_groups = build_groups(_hosts, "inventories/prod.py")
lb = _groups["lb"]
app = _groups["app"]
db = _groups["db"]
cache = _groups["cache"]
