"""Production: one LXC container in every group (seed 000: 10.1.1.110).

pyinfra connects as $AKTIENANALYSE_SSH_USER (default `deploy`, an operator from group data)
and uses sudo. Host keys are pinned in inventories/known_hosts: never disable checking.
Settings come from group_data/ (pyinfra loads it); secrets from the environment, see
group_data/all.py and docs/settings.md.
"""

import os
from pathlib import Path

from infra.hostdata import check_before_connecting

check_before_connecting(__file__)

_connection = {
    "ssh_user": os.environ.get("AKTIENANALYSE_SSH_USER", "deploy"),
    # The workflows' deploy key (make ssh-key); by hand, your own key or agent.
    **({"ssh_key": _key} if (_key := os.environ.get("AKTIENANALYSE_SSH_KEY_FILE")) else {}),
    "ssh_known_hosts_file": str(Path(__file__).with_name("known_hosts")),
    "ssh_strict_host_key_checking": "yes",
    "_sudo": True,
}
# `address` is where other hosts reach this one; `ssh_hostname` where pyinfra does.
_production = (
    "aktienanalyse-prod",
    {**_connection, "address": "10.1.1.110", "ssh_hostname": "10.1.1.110"},
)

lb = [_production]
app = [_production]
db = [_production]
cache = [_production]
