"""deploys/postgresql.py's pure parts: what the drop-in sets and when a change restarts."""

from deploys.postgresql import RESTART_ONLY, parameters, parse_drop_in, restart_reasons
from infra.settings import PostgreSQL, Settings
from infra.templating import render

GIB = 1024**3
RESOURCES = {"memory_bytes": 2 * GIB, "memory_source": "cgroup", "cpus": 1}


def settings(**postgresql) -> Settings:
    return Settings.model_construct(postgresql=PostgreSQL(**postgresql))


def test_parameters_hold_tuning_access_and_preload():
    values = parameters(settings(), RESOURCES, "localhost")
    assert (values["shared_buffers"], values["listen_addresses"]) == ("512MB", "localhost")
    assert values["shared_preload_libraries"] == "pg_stat_statements"
    assert values["password_encryption"] == "scram-sha-256"


def test_overrides_win_over_the_computed_values():
    values = parameters(settings(overrides={"work_mem": "8MB", "jit": "off"}), RESOURCES, "x")
    assert (values["work_mem"], values["jit"]) == ("8MB", "off")


def test_rendered_drop_in_parses_back_to_its_parameters():
    wanted = parameters(settings(overrides={"log_line_prefix": "'%m' [%p] \\"}), RESOURCES, "x")
    text = render(
        "/etc/postgresql/15/main/conf.d/50-aktienanalyse.conf",
        parameters=wanted, memory_mib=2048, memory_source="cgroup", cpus=1,
    )  # fmt: skip
    assert parse_drop_in(text.splitlines()) == wanted


def test_reload_only_change_needs_no_restart():
    assert restart_reasons({"work_mem": "4MB"}, {"work_mem": "8MB"}, RESTART_ONLY, set()) == []


def test_restart_only_change_is_named():
    old, new = {"shared_buffers": "512MB", "work_mem": "4MB"}, {"shared_buffers": "256MB"}
    assert restart_reasons(old, new, RESTART_ONLY, set()) == ["shared_buffers"]


def test_removed_restart_only_parameter_restarts():
    assert restart_reasons({"max_connections": "200"}, {}, RESTART_ONLY, set()) == [
        "max_connections"
    ]


def test_restart_still_pending_from_an_earlier_run_restarts():
    assert restart_reasons({}, {}, RESTART_ONLY, {"wal_buffers"}) == ["wal_buffers"]


def test_no_change_no_restart():
    same = {"shared_buffers": "512MB"}
    assert restart_reasons(same, dict(same), RESTART_ONLY, set()) == []


def test_hba_lists_each_app_host_then_rejects_the_rest():
    text = render(
        "/etc/postgresql/15/main/pg_hba.conf",
        role="stock_analysis", databases="aktienanalyse_event_store",
        app_addresses=["10.0.0.21", "10.0.0.22"], replication_role="replicator",
        replica_addresses=[],
    )  # fmt: skip
    rules = [line.split() for line in text.splitlines() if line and not line.startswith("#")]
    hosts = [rule[3] for rule in rules if rule[0] == "host" and rule[-1] == "scram-sha-256"]
    assert hosts == ["127.0.0.1/32", "::1/128", "10.0.0.21/32", "10.0.0.22/32"]
    assert [rule[-1] for rule in rules[-3:]] == ["reject"] * 3


def test_hba_of_a_cluster_member_admits_its_peers_replication_and_rewind_only():
    text = render(
        "/etc/postgresql/15/main/pg_hba.conf",
        role="r", databases="d", app_addresses=["10.0.0.11"], replication_role="replicator",
        rewind_role="rewind", replica_addresses=["10.0.0.32"],
    )  # fmt: skip
    rules = [line.split() for line in text.splitlines() if line and not line.startswith("#")]
    assert ["host", "replication", "replicator", "10.0.0.32/32", "scram-sha-256"] in rules
    assert ["host", "postgres", "rewind", "10.0.0.32/32", "scram-sha-256"] in rules
    # The superuser logs in through the local socket only, never over the network.
    assert [rule for rule in rules if "postgres" in rule[2:3]] == [
        ["local", "all", "postgres", "peer"]
    ]
    assert [rule[-1] for rule in rules[-3:]] == ["reject"] * 3
