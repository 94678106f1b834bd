"""Production: one LXC container in every group (seed 000: 10.1.1.110).

pyinfra connects as $AKTIENANALYSE_SSH_USER (default `deploy`, an operator from group data)
and uses sudo. Host keys are pinned in inventories/known_hosts: never disable checking.
Settings come from group_data/ (pyinfra loads it); secrets from the environment, see
group_data/all.py and docs/settings.md.
"""

from infra.hostdata import check_before_connecting, production_connection

check_before_connecting(__file__)

_connection = production_connection(__file__)
# `address` is where other hosts reach this one; `ssh_hostname` where pyinfra does.
_production = (
    "aktienanalyse-prod",
    {**_connection, "address": "10.1.1.110", "ssh_hostname": "10.1.1.110"},
)

lb = [_production]
app = [_production]
db = [_production]
cache = [_production]
