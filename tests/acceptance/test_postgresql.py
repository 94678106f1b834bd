"""deploys/postgresql.py on the converged db host: tuning, access rules, roles, databases."""

import pytest

from deploys.postgresql import DROP_IN, HBA_FILE
from infra import tuning
from infra.credentials import database_roles
from tests.acceptance import lab

testinfra_hosts = lab.hosts("db")

DB_HOST = lab.host_info(lab.names("db")[0])
CPUS = lab.cpu_count(DB_HOST["name"])
EXPECTED = tuning.postgresql(lab.memory_bytes(DB_HOST["name"]), CPUS, 100, "ssd")


def show(host, parameter: str, database: str = "postgres") -> str:
    return host.check_output(
        f"runuser -u postgres -- psql -XAtq -d {database} -c 'SHOW {parameter}'"
    )


def query(host, sql: str, database: str = "postgres") -> str:
    return host.check_output(f'runuser -u postgres -- psql -XAtq -d {database} -c "{sql}"')


def test_postgresql_15_is_running(host):
    assert host.service("postgresql@15-main").is_running


def test_postgresql_starts_at_boot(host):
    assert host.service("postgresql").is_enabled


def test_sized_for_the_container_not_the_machine(host):
    machine_memory = int(host.check_output("awk '/^MemTotal/ {print $2}' /proc/meminfo")) * 1024
    assert tuning.postgresql(machine_memory, CPUS)["shared_buffers"] != show(host, "shared_buffers")


@pytest.mark.parametrize("parameter", sorted(EXPECTED))
def test_tuned_value_is_live(host, parameter):
    assert show(host, parameter) == EXPECTED[parameter]


def test_pg_stat_statements_is_preloaded(host):
    assert show(host, "shared_preload_libraries") == "pg_stat_statements"


def test_passwords_are_stored_as_scram(host):
    assert show(host, "password_encryption") == "scram-sha-256"


def test_listens_where_the_app_hosts_are(host):
    remote_app = set(lab.names("app")) - {DB_HOST["name"]}
    wanted = f"localhost,{DB_HOST['address']}" if remote_app else "localhost"
    assert show(host, "listen_addresses") == wanted


@pytest.mark.parametrize("role", database_roles("stock_analysis").values())
def test_each_service_role_has_a_scram_verifier(host, role):
    verifier = query(host, f"SELECT rolpassword FROM pg_authid WHERE rolname = '{role}'")
    assert verifier.startswith("SCRAM-SHA-256$4096:")


def test_the_owner_role_has_no_password(host):
    assert (
        query(host, "SELECT rolpassword IS NULL FROM pg_authid WHERE rolname = 'stock_analysis'")
        == "t"
    )


def test_event_store_is_owned_by_the_app_role(host):
    owner = query(
        host,
        "SELECT pg_get_userbyid(datdba) FROM pg_database "
        "WHERE datname = 'aktienanalyse_event_store'",
    )
    assert owner == "stock_analysis"


def test_pg_stat_statements_extension_exists(host):
    extensions = query(host, "SELECT extname FROM pg_extension", "aktienanalyse_event_store")
    assert "pg_stat_statements" in extensions.split()


@pytest.mark.parametrize(("path", "mode"), [(DROP_IN, 0o644), (HBA_FILE, 0o640)])
def test_config_file_owner_and_mode(host, path, mode):
    config = host.file(path)
    assert (config.user, config.group, config.mode) == ("root", "postgres", mode)


def test_hba_rejects_everything_not_listed(host):
    last_rules = host.file(HBA_FILE).content_string.strip().splitlines()[-3:]
    assert [rule.split()[-1] for rule in last_rules] == ["reject"] * 3
