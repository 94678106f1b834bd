"""The PostgreSQL cluster's Zabbix items (infra/zabbix_items.py, infra/zabbix_template.py):
role, replication and Patroni's /primary on a cluster's db hosts, etcd's health on its members,
none of them without a cluster."""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from infra.zabbix_items import (
    ALLOWED_KEYS,
    ETCD_RULE,
    PATRONI_RULE,
    PROTOTYPES,
    REDIS_CLUSTER_RULE,
    SENTINEL_RULE,
    USER_PARAMETERS,
    daemons_discovery,
    etcd_discovery,
    patroni_discovery,
    redis_cluster_discovery,
    sentinel_discovery,
    user_parameters_text,
)
from infra.zabbix_template import TEMPLATE_FILE

DB_ADDRESSES = ["10.0.0.31", "10.0.0.32"]
CLUSTER_RULES = (PATRONI_RULE, ETCD_RULE, REDIS_CLUSTER_RULE, SENTINEL_RULE)
CLUSTER_KEYS = {key for rule in CLUSTER_RULES for key in PROTOTYPES[rule]}
CACHE_ADDRESSES = ["10.0.0.33", "10.0.0.34"]
GUARD = 'case "$1" in ""|*[!0-9]*) exit 1 ;; esac; '


def parameters(text: str) -> dict[str, str]:
    """key -> command, from a UserParameter file."""
    lines = text.splitlines()[1:]
    return dict(line.removeprefix("UserParameter=").split(",", 1) for line in lines)


def on_a_db_host(addresses: list[str] = DB_ADDRESSES) -> dict[str, str]:
    """The UserParameters of a cluster's data host: db and cache, etcd member and Sentinel."""
    text = user_parameters_text(
        db_addresses=addresses, etcd=True, cache_addresses=CACHE_ADDRESSES, sentinel=True
    )
    return parameters(text)


# ---------------------------------------------------------------------------------------------
# Which hosts answer them


def test_without_a_cluster_the_file_leaves_out_every_cluster_item():
    assert set(USER_PARAMETERS) - set(parameters(user_parameters_text())) == CLUSTER_KEYS


def test_without_a_cluster_the_file_still_answers_the_two_discovery_rules():
    """Every host links the template: a rule its host cannot answer would go unsupported."""
    answered = set(parameters(user_parameters_text()))
    assert set(CLUSTER_RULES) <= answered


def test_a_clustered_cache_host_answers_redis_role_and_masters():
    cache = set(parameters(user_parameters_text(cache_addresses=CACHE_ADDRESSES, sentinel=True)))
    assert cache & CLUSTER_KEYS == {*PROTOTYPES[REDIS_CLUSTER_RULE], *PROTOTYPES[SENTINEL_RULE]}


def test_a_voter_asks_its_sentinel_and_no_redis():
    voter = set(parameters(user_parameters_text(etcd=True, sentinel=True)))
    assert voter & set(PROTOTYPES[REDIS_CLUSTER_RULE]) == set()
    assert set(PROTOTYPES[SENTINEL_RULE]) <= voter


def test_the_redis_and_sentinel_entries_are_on_their_hosts_only():
    assert (redis_cluster_discovery(False), sentinel_discovery(False)) == ({"data": []},) * 2
    assert redis_cluster_discovery(True) == {"data": [{"{#REDISPORT}": "6379"}]}
    assert sentinel_discovery(True) == {"data": [{"{#SENTINELPORT}": "26379"}]}


def test_the_cache_addresses_are_shell_quoted():
    text = user_parameters_text(cache_addresses=["10.0.0.33", "a b"])
    assert "for a in 10.0.0.33 'a b'; do" in parameters(text)["aktienanalyse.redis.masters[*]"]


def test_a_voter_answers_etcd_and_no_postgresql_item():
    voter = set(parameters(user_parameters_text(etcd=True)))
    assert voter & CLUSTER_KEYS == {"aktienanalyse.etcd.healthy[*]"}


def test_the_discovery_entries_are_on_a_clusters_db_hosts_only():
    assert patroni_discovery(True) == {"data": [{"{#PGPORT}": "5432", "{#RESTPORT}": "8008"}]}
    assert patroni_discovery(False) == {"data": []}


def test_the_etcd_entry_is_on_etcd_members_only():
    assert etcd_discovery(True) == {"data": [{"{#ETCDPORT}": "2381"}]}
    assert etcd_discovery(False) == {"data": []}


# ---------------------------------------------------------------------------------------------
# The commands


@pytest.mark.parametrize(
    ("key", "wanted"),
    [
        (
            "aktienanalyse.pgsql.role[*]",
            'psql -XAtq -d postgres -p "$1" -c '
            "\"SELECT CASE WHEN pg_is_in_recovery() THEN 'standby' ELSE 'primary' END\"",
        ),
        (
            "aktienanalyse.pgsql.sync_standbys[*]",
            'psql -XAtq -d postgres -p "$1" -c '
            "\"SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'\"",
        ),
        (
            "aktienanalyse.pgsql.replay_lag[*]",
            "CASE WHEN NOT pg_is_in_recovery() OR pg_last_wal_receive_lsn() = "
            "pg_last_wal_replay_lsn() THEN 0 ELSE EXTRACT(EPOCH FROM now() - "
            "pg_last_xact_replay_timestamp()) END",
        ),
        (
            "aktienanalyse.patroni.primaries[*]",
            "for a in 10.0.0.31 10.0.0.32; do curl -s -o /dev/null -w '%{http_code}\\n' "
            '--max-time 2 "http://$a:$1/primary" & done',
        ),
        (
            "aktienanalyse.etcd.healthy[*]",
            'curl -fsS --max-time 2 "http://127.0.0.1:$1/health" 2>/dev/null'
            ' | grep -q \'"health":"true"\'; then echo 1; else echo 0',
        ),
    ],
)
def test_the_cluster_commands(key, wanted):
    assert wanted in on_a_db_host()[key]


@pytest.mark.parametrize("key", sorted(CLUSTER_KEYS))
def test_a_cluster_command_takes_only_digits(key):
    assert on_a_db_host()[key].startswith(GUARD)


def test_the_db_addresses_are_shell_quoted():
    command = on_a_db_host(["10.0.0.31", "10.0.0.32; touch /tmp/x"])[
        "aktienanalyse.patroni.primaries[*]"
    ]
    assert "for a in 10.0.0.31 '10.0.0.32; touch /tmp/x'; do" in command


class _Member(BaseHTTPRequestHandler):
    """Patroni's /primary and etcd's /health, as the server's flags say."""

    def do_GET(self):
        primary, healthy = self.server.flags
        status = 200 if self.path != "/primary" or primary else 503
        body = b'{"health":"%s","reason":""}' % (b"true" if healthy else b"false")
        self.send_response(status)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def members():
    """127.0.0.1 and .3 primaries, .2 a standby, all on one port (REST_PORT's stand-in);
    .4 answers nothing; a second port of 127.0.0.1 an unhealthy etcd."""
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), _Member)]
    port = servers[0].server_address[1]
    try:
        servers += [ThreadingHTTPServer((f"127.0.0.{n}", port), _Member) for n in (2, 3)]
    except OSError:
        pytest.skip(f"port {port} is taken on 127.0.0.2 or .3")
    servers.append(ThreadingHTTPServer(("127.0.0.1", 0), _Member))
    for server, flags in zip(servers, [(1, 1), (0, 1), (1, 1), (0, 0)], strict=True):
        server.flags = flags
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield port, servers[-1].server_address[1]
    for server in servers:
        server.shutdown()


def agent_runs(command: str, parameter: str) -> str:
    """What agent 2 answers: `$1` filled in, `sh -c`, stdout and stderr together, trimmed."""
    run = subprocess.run(
        ["sh", "-c", command.replace("$1", parameter)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=30,
    )
    return run.stdout.rstrip()


def test_primaries_counts_the_members_answering_200(members):
    port, _ = members
    command = on_a_db_host(["127.0.0.1", "127.0.0.2", "127.0.0.3"])
    assert agent_runs(command["aktienanalyse.patroni.primaries[*]"], str(port)) == "2"


def test_primaries_counts_a_member_that_does_not_answer_as_none(members):
    port, _ = members
    command = on_a_db_host(["127.0.0.1", "127.0.0.4"])
    assert agent_runs(command["aktienanalyse.patroni.primaries[*]"], str(port)) == "1"


def test_etcd_healthy_is_1_for_a_healthy_member(members):
    port, _ = members
    assert agent_runs(on_a_db_host()["aktienanalyse.etcd.healthy[*]"], str(port)) == "1"


def test_etcd_healthy_is_0_for_an_unhealthy_member(members):
    _, unhealthy = members
    assert agent_runs(on_a_db_host()["aktienanalyse.etcd.healthy[*]"], str(unhealthy)) == "0"


def test_etcd_healthy_is_0_without_an_answer_and_no_error_text(members):
    closed = ThreadingHTTPServer(("127.0.0.1", 0), _Member)
    port = closed.server_address[1]
    closed.server_close()
    assert agent_runs(on_a_db_host()["aktienanalyse.etcd.healthy[*]"], str(port)) == "0"


# ---------------------------------------------------------------------------------------------
# AllowKey


def _allowed(key: str) -> bool:
    """Agent 2's AllowKey: `*` is any characters; a pattern without brackets matches a key
    without parameters only. Every AllowKey comes before DenyKey=*."""
    return any(
        ("[" in pattern) == ("[" in key)
        and re.fullmatch(".*".join(map(re.escape, pattern.split("*"))), key)
        for pattern in ALLOWED_KEYS
    )


def _polled() -> list[str]:
    """The keys the server polls on a cluster's db host: each rule, its prototypes filled from
    the discovery entry, and Patroni's and etcd's unit states."""
    entries = {PATRONI_RULE: patroni_discovery(True), ETCD_RULE: etcd_discovery(True)}
    keys = [*entries]
    for rule, data in entries.items():
        entry = data["data"][0]
        keys += [k.replace("[*]", f"[{entry[m]}]") for k, m in PROTOTYPES[rule].items()]
    units = [e["{#DAEMON}"] for e in daemons_discovery({"db"}, True, True)["data"]]
    return keys + [f"systemd.unit.info[{unit},ActiveState]" for unit in units]


@pytest.mark.parametrize("key", _polled())
def test_allow_key_covers_the_cluster_items(key):
    assert _allowed(key)


def test_allow_key_matching_is_not_vacuous():
    assert not _allowed("system.run[id]")


# ---------------------------------------------------------------------------------------------
# The template


def _template() -> dict:
    return yaml.safe_load(TEMPLATE_FILE.read_text())["zabbix_export"]["templates"][0]


def _rule(key: str) -> dict:
    return next(rule for rule in _template()["discovery_rules"] if rule["key"] == key)


@pytest.mark.parametrize(
    ("rule", "key"),
    [
        (PATRONI_RULE, "aktienanalyse.pgsql.role[{#PGPORT}]"),
        (PATRONI_RULE, "aktienanalyse.pgsql.sync_standbys[{#PGPORT}]"),
        (PATRONI_RULE, "aktienanalyse.pgsql.replay_lag[{#PGPORT}]"),
        (PATRONI_RULE, "aktienanalyse.patroni.primaries[{#RESTPORT}]"),
        (ETCD_RULE, "aktienanalyse.etcd.healthy[{#ETCDPORT}]"),
    ],
)
def test_the_template_has_the_cluster_item_prototypes(rule, key):
    assert key in [prototype["key"] for prototype in _rule(rule)["item_prototypes"]]


def _triggers() -> dict[str, tuple[str, str]]:
    """name -> (severity, expression) of every trigger prototype of the discovery rules."""
    found = {}
    for rule in _template()["discovery_rules"]:
        triggers = list(rule.get("trigger_prototypes", []))
        for prototype in rule["item_prototypes"]:
            triggers += prototype.get("trigger_prototypes", [])
        found |= {t["name"]: (t["priority"], t["expression"]) for t in triggers}
    return found


ITEM = "/aktienanalyse platform/aktienanalyse"


@pytest.mark.parametrize(
    ("name", "severity", "expression"),
    [
        (
            "PostgreSQL primary without a synchronous standby for 1 minute",
            "HIGH",
            f'last({ITEM}.pgsql.role[{{#PGPORT}}])="primary"'
            f' and count({ITEM}.pgsql.role[{{#PGPORT}}],1m,"ne","primary")=0'
            f" and max({ITEM}.pgsql.sync_standbys[{{#PGPORT}}],1m)=0",
        ),
        (
            "PostgreSQL standby more than {$AKTIENANALYSE.PG.LAG} s behind for 2 minutes",
            "AVERAGE",
            f"min({ITEM}.pgsql.replay_lag[{{#PGPORT}}],2m)>{{$AKTIENANALYSE.PG.LAG}}",
        ),
        (
            "more than one PostgreSQL primary (Patroni /primary)",
            "DISASTER",
            f"last({ITEM}.patroni.primaries[{{#RESTPORT}}])>1",
        ),
        (
            "etcd member is not healthy",
            "HIGH",
            f"last({ITEM}.etcd.healthy[{{#ETCDPORT}}])=0",
        ),
    ],
)
def test_the_template_has_the_cluster_triggers(name, severity, expression):
    assert _triggers()[name] == (severity, expression)


def test_a_rules_triggers_refer_to_its_own_item_prototypes_only():
    for rule in _template()["discovery_rules"]:
        keys = {prototype["key"] for prototype in rule["item_prototypes"]}
        for trigger in rule.get("trigger_prototypes", []):
            assert (
                set(re.findall(r"/aktienanalyse platform/([^,)]+)", trigger["expression"])) <= keys
            )


def test_the_replay_lag_threshold_defaults_to_30_seconds():
    macros = {macro["macro"]: macro["value"] for macro in _template()["macros"]}
    assert macros["{$AKTIENANALYSE.PG.LAG}"] == "30"


# ---------------------------------------------------------------------------------------------
# The daemons watched


def test_a_cluster_db_host_watches_patroni_and_etcd_not_postgresqls_own_unit():
    assert daemons_discovery({"db", "cache"}, patroni=True, etcd=True) == {
        "data": [
            {"{#DAEMON}": "patroni@15-main.service"},
            {"{#DAEMON}": "redis-server.service"},
            {"{#DAEMON}": "etcd.service"},
        ]
    }


def test_a_voter_watches_etcd():
    assert daemons_discovery({"voter"}, etcd=True) == {"data": [{"{#DAEMON}": "etcd.service"}]}


def test_a_single_db_host_watches_postgresql_as_before():
    assert daemons_discovery({"db"}) == {"data": [{"{#DAEMON}": "postgresql@15-main.service"}]}
