"""Production with high availability (an example; the workflows converge inventories/prod.py
unless the repository variable AKTIENANALYSE_INVENTORY names this file).

Two data hosts, each with PostgreSQL (a Patroni cluster, etcd on both) and Redis (a master and
a replica, a Sentinel on both); a third host, the voter, runs only an etcd member and a
Sentinel and holds pgBackRest's repository (group backup), so either data host may be lost.
The lb host's HAProxy is the services' one address for the PostgreSQL primary and the Redis
master (docs/runbook.md: High availability). Each
cluster member declares its container's limits (`machine`): the cluster has one tuning. Growing
prod.py into this is a converge: docs/runbook.md, "Growing to two data hosts". The host keys of
every host belong in inventories/known_hosts.
"""

from infra.hostdata import check_before_connecting, production_connection

check_before_connecting(__file__)

_connection = production_connection(__file__)
_machine = {"memory": "8192M", "cpus": 4}  # as the hypervisor gives each data container


def _host(name: str, address: str, **data) -> tuple[str, dict]:
    return (name, {**_connection, "address": address, "ssh_hostname": address, **data})


_edge = _host("aktienanalyse-prod", "10.1.1.110")
_data_1 = _host("aktienanalyse-data-1", "10.1.1.111", machine=_machine)
_data_2 = _host("aktienanalyse-data-2", "10.1.1.112", machine=_machine)
_voter = _host("aktienanalyse-voter", "10.1.1.113")

lb = [_edge]
app = [_edge]
db = [_data_1, _data_2]
cache = [_data_1, _data_2]
voter = [_voter]
backup = [_voter]  # pgBackRest's repository (backup.path: a mount of its own there too)
