"""Who can reach PostgreSQL and Redis: app hosts with the right password, nobody else.

Passwords travel on stdin, never in a command line (they would show in ps and in test logs).
"""

import pytest
from pydantic import SecretStr

from deploys import app
from infra.settings import PostgreSQL, Redis
from tests.acceptance import lab

APP_HOSTS = lab.names("app")
OUTSIDERS = [name for name in lab.names() if name not in APP_HOSTS]
DATABASE = "aktienanalyse_event_store"


# Each service logs in as itself (infra/credentials.py); the frontend stands for the others.
SERVICE = "frontend"


def credentials(service: str) -> dict[str, str]:
    secrets = (SecretStr(lab.secret("postgresql_app_password")),
               SecretStr(lab.secret("redis_app_password")))  # fmt: skip
    return app.credentials(service, PostgreSQL(), Redis(), secrets)


def psql(client: str, password: str, sql: str = "SELECT current_user", role: str | None = None):
    role = role or credentials(SERVICE)["AKTIENANALYSE_DB_USER"]
    return lab.ssh(
        client,
        "read -r PGPASSWORD; export PGPASSWORD; psql -XAtq -w -v ON_ERROR_STOP=1 "
        f"-h {lab.endpoint(client, 'db')} -U {role} -d {DATABASE} -c '{sql}'",
        stdin=password,
    )


def redis_cli(client: str, command: str, user: str | None = None, password: str = ""):
    login = f"--user {user}" if user else ""
    return lab.ssh(
        client,
        "read -r REDISCLI_AUTH; export REDISCLI_AUTH; "
        f"redis-cli --no-auth-warning -h {lab.endpoint(client, 'cache')} {login} {command}",
        stdin=password,
    )


def app_redis(client: str, command: str, service: str = SERVICE):
    own = credentials(service)
    return redis_cli(
        client, command, own["AKTIENANALYSE_REDIS_USER"], own["AKTIENANALYSE_REDIS_PASSWORD"]
    )


@pytest.mark.parametrize("client", APP_HOSTS)
def test_a_service_role_connects_with_its_password(client):
    result = psql(client, credentials(SERVICE)["AKTIENANALYSE_DB_PASSWORD"])
    assert (result.returncode, result.stdout.strip()) == (0, "stock_analysis_frontend")


@pytest.mark.parametrize("client", APP_HOSTS)
def test_a_service_role_is_refused_with_another_services_password(client):
    result = psql(client, credentials("broker-gateway")["AKTIENANALYSE_DB_PASSWORD"])
    assert "password authentication failed" in result.stderr


@pytest.mark.parametrize("client", APP_HOSTS)
def test_the_owner_role_logs_in_no_more(client):
    result = psql(client, lab.secret("postgresql_app_password"), role="stock_analysis")
    assert result.returncode != 0


@pytest.mark.parametrize("client", APP_HOSTS[:1])
def test_a_service_other_than_the_core_reads_and_writes_but_cannot_change_the_schema(client):
    password = credentials(SERVICE)["AKTIENANALYSE_DB_PASSWORD"]
    assert psql(client, password, "SELECT count(*) >= 0 FROM events").stdout.strip() == "t"
    assert psql(client, password, "CREATE TABLE stolen (x int)").returncode != 0
    assert psql(client, password, "DROP TABLE events").returncode != 0


@pytest.mark.parametrize("client", APP_HOSTS[:1])
def test_the_core_owns_the_schema(client):
    password = credentials("intelligent-core")["AKTIENANALYSE_DB_PASSWORD"]
    role = credentials("intelligent-core")["AKTIENANALYSE_DB_USER"]
    sql = "CREATE TABLE probe_owner (x int); DROP TABLE probe_owner"
    assert psql(client, password, sql, role=role).returncode == 0


@pytest.mark.parametrize("client", APP_HOSTS)
def test_app_role_is_refused_with_a_wrong_password(client):
    result = psql(client, "not-the-password")
    assert "password authentication failed" in result.stderr


@pytest.mark.parametrize("client", APP_HOSTS)
def test_app_role_uses_pg_stat_statements(client):
    result = psql(
        client,
        credentials(SERVICE)["AKTIENANALYSE_DB_PASSWORD"],
        "SELECT count(*) >= 0 FROM pg_stat_statements",
    )
    assert result.stdout.strip() == "t"


@pytest.mark.parametrize(
    ("client", "group", "port"),
    [
        (client, group, port)
        for client in OUTSIDERS
        for group, port in (("db", 5432), ("cache", 6379))
        if client not in lab.names(group)
    ]
    or [pytest.param(None, None, None, marks=pytest.mark.skip("every host is an app host"))],
)
def test_hosts_outside_the_app_group_are_refused(client, group, port):
    result = lab.tcp_connect(client, lab.host_info(lab.names(group)[0])["address"], port)
    assert result.returncode != 0 and "refused" in result.stderr


@pytest.mark.parametrize("client", APP_HOSTS)
def test_app_user_writes_its_keys(client):
    result = app_redis(client, f"SET health:{client} ok")
    assert result.stdout.strip() == "OK"


@pytest.mark.parametrize("client", APP_HOSTS)
def test_app_user_cannot_touch_other_keys(client):
    assert "NOPERM" in app_redis(client, "SET unlisted:key 1").stdout


@pytest.mark.parametrize("client", APP_HOSTS)
def test_app_user_cannot_run_dangerous_commands(client):
    assert "NOPERM" in app_redis(client, "FLUSHALL").stdout


@pytest.mark.parametrize("client", APP_HOSTS)
def test_app_user_needs_its_password(client):
    other = credentials("broker-gateway")["AKTIENANALYSE_REDIS_PASSWORD"]
    result = redis_cli(client, "PING", credentials(SERVICE)["AKTIENANALYSE_REDIS_USER"], other)
    assert "WRONGPASS" in result.stdout + result.stderr


@pytest.mark.parametrize("client", APP_HOSTS)
def test_default_user_is_refused(client):
    assert "NOAUTH" in redis_cli(client, "PING").stdout
