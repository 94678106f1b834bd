"""etcd (every db and voter host of a PostgreSQL cluster): Patroni's consensus store.

Nothing here runs unless the inventory has two or more `db` hosts (infra/cluster.py). The
members are the db hosts and the voters, in inventory order; three survive the loss of one.
Settings: none of its own; the members' `address`. Debian's package starts a single-node
etcd on localhost; this deploy points the unit at a data directory of its own
(/var/lib/etcd/aktienanalyse), so that throwaway member's data is never reused.

A changed /etc/default/etcd restarts etcd on every member in one operation without waiting
(a member of a new cluster is ready only with a quorum), then waits, bounded, until the
cluster answers healthy: the operation after it (Patroni) finds a working store or the run
stops naming the host. A member whose data directory is new (a new cluster, or a host
rebuilt in place of a lost one) is started by aktienanalyse-etcd-start instead, which joins
the existing cluster when the other members answer (`etcdctl member remove`/`add`).
"""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import server

from facts.files import path_state
from facts.snapshot import Read, file_entries
from infra.cluster import ETCD_CLIENT_PORT, ETCD_METRICS_PORT
from infra.cluster import ETCD_PEER_PORT as PEER_PORT
from infra.effects import run_if_changed
from infra.hostdata import address, cluster, etcd_endpoints, members
from infra.operations import ensure_service
from infra.templating import put_rendered

CONFIG = "/etc/default/etcd"
START = "/usr/local/sbin/aktienanalyse-etcd-start"
DATA_DIR = "/var/lib/etcd/aktienanalyse"
TOKEN = "aktienanalyse-15-main"
HEARTBEAT_MS = 100  # within a data centre; the election waits for ten missed heartbeats
ELECTION_MS = 1000  # measured: 2000 cost a 5.4 s election when the killed host led etcd
HEALTH_TIMEOUT = 90  # seconds for the whole cluster to elect a leader after a restart


def member() -> bool:
    """This host runs etcd (a db or voter host of a PostgreSQL cluster)."""
    return host.name in cluster().etcd_members


def packages(own) -> list[str]:
    return ["etcd-server", "etcd-client"] if member() else []


def facts(own) -> list[Read]:
    return file_entries(CONFIG, START, f"{DATA_DIR}/member") if member() else []


@deploy("etcd")
def apply() -> None:
    if not member():
        return
    hosts = {h.name: h for h in [*members("db"), *members("voter")]}
    # By name, not inventory order: reordering the inventory (so that another host is the
    # first, docs/runbook.md) must not restart every member.
    initial = ",".join(
        f"{name}=http://{address(hosts[name])}:{PEER_PORT}"
        for name in sorted(cluster().etcd_members)
    )
    config = put_rendered(
        CONFIG,
        {
            "name": host.name,
            "data_dir": DATA_DIR,
            "address": address(host),
            "initial_cluster": initial,
            "token": TOKEN,
            "heartbeat_ms": HEARTBEAT_MS,
            "election_ms": ELECTION_MS,
            "metrics_port": ETCD_METRICS_PORT,
        },
        mode=644,
    )
    others = [name for name in cluster().etcd_members if name != host.name]
    put_rendered(
        START,
        {
            "name": host.name,
            "peer_url": f"http://{address(host)}:{PEER_PORT}",
            "others": ",".join(f"http://{address(hosts[n])}:{ETCD_CLIENT_PORT}" for n in others),
        },
        mode=755,
        check="sh -n {path}",
    )
    new = path_state(f"{DATA_DIR}/member") is None
    if new:
        server.shell(
            name="Start etcd: join the running cluster (a rebuilt member) or found it",
            commands=[START],
        )
    else:
        run_if_changed(
            {"etcd configuration": config},
            server.shell,
            effect="restart",
            name="Restart etcd (configuration changed; every member at once)",
            commands=["systemctl restart --no-block etcd.service"],
        )
    ensure_service(name="etcd enabled", service="etcd", enabled=True)
    health = f"etcdctl --endpoints={etcd_endpoints()} endpoint health"
    if config.will_change or new:
        server.shell(
            name=f"Wait until etcd is healthy on every member (at most {HEALTH_TIMEOUT} s)",
            commands=[
                f"for i in $(seq {HEALTH_TIMEOUT}); do {health} >/dev/null 2>&1 && exit 0; "
                f"sleep 1; done; {health}; exit 1"
            ],
        )
