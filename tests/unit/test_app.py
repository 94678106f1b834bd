"""infra/services.py and deploys/app.py's pure parts, and the Releases fact's parser."""

import subprocess

from deploys.app import environment
from facts.releases import parse
from infra.services import deployed, previous_release, requirements, switch_order
from infra.settings import DEFAULT_SERVICES, PostgreSQL, Redis, Service, Settings
from infra.templating import render

CORE_WHEEL = "aktienanalyse_intelligent_core-1.1.0-py3-none-any.whl"


def service(**changes) -> Service:
    return DEFAULT_SERVICES["intelligent-core"].model_copy(update=changes)


def test_requirement_without_hashes_pins_the_version():
    assert requirements("intelligent-core", service(version="1.1.0")) == [
        "aktienanalyse-intelligent-core==1.1.0"
    ]


def test_requirements_with_hashes_pin_every_wheel():
    pinned = service(
        version="1.1.0", sha256={CORE_WHEEL: "a" * 64, "pg8000-1.31.2-py3-none-any.whl": "b" * 64}
    )
    assert requirements("intelligent-core", pinned) == [
        "aktienanalyse-intelligent-core==1.1.0 --hash=sha256:" + "a" * 64,
        "pg8000==1.31.2 --hash=sha256:" + "b" * 64,
    ]


def test_only_services_with_a_version_are_deployed_in_start_order():
    services = dict(DEFAULT_SERVICES)
    for name in ("frontend", "event-bus"):
        services[name] = services[name].model_copy(update={"version": "1"})
    settings = Settings.model_construct(services=services)
    assert [name for name, _ in deployed(settings)] == ["event-bus", "frontend"]


def test_core_switches_first():
    order = [("event-bus", None), ("intelligent-core", None), ("frontend", None)]
    assert [name for name, _ in switch_order(order)] == [
        "intelligent-core",
        "event-bus",
        "frontend",
    ]


def test_releases_fact_reads_links_installs_and_running_venvs():
    state = parse([
        "current intelligent-core /opt/aktienanalyse/releases/intelligent-core/1.1.0",
        "installed intelligent-core /opt/aktienanalyse/releases/intelligent-core/1.0.0/.complete",
        "installed intelligent-core /opt/aktienanalyse/releases/intelligent-core/1.1.0/.complete",
        "running intelligent-core 8001 /opt/aktienanalyse/releases/intelligent-core/1.0.0/bin/py"
        " /opt/aktienanalyse/current/intelligent-core/bin/x --port 8001",
        "running intelligent-core 8011 -",
        "live intelligent-core 1.0.0",
        "live intelligent-core 1.1.0",
        "current frontend ",
    ])  # fmt: skip
    assert state["intelligent-core"] == {
        "current": "1.1.0",
        "installed": ["1.0.0", "1.1.0"],
        "live": ["1.0.0", "1.1.0"],
        "running": {8001: "1.0.0", 8011: None},
        "active": [8001],
    }
    assert state["frontend"]["current"] is None


def test_previous_release_is_the_one_live_before_the_current_one():
    installed = ["1.0.0", "1.2.0", "1.1.0"]  # 1.2.0 was installed but never went live
    assert previous_release(["1.0.0", "1.1.0"], installed, "1.1.0") == "1.0.0"


def test_no_previous_release_when_it_was_pruned_or_there_is_none():
    assert previous_release(["0.9.0", "1.1.0"], ["1.1.0"], "1.1.0") is None


def test_environment_file_reads_back_every_value_verbatim(tmp_path):
    """sh reads it as systemd's EnvironmentFile= does (the lab's passwords prove systemd)."""
    hostile = """p'w$(touch PWNED)`id`;x "q" \\ ${HOME} %h"""
    env = tmp_path / "production.env"
    env.write_text(render("/etc/aktienanalyse/production.env", variables={"A": hostile}))
    read = subprocess.run(["sh", "-c", '. "$0"; printf %s "$A"', str(env)], cwd=tmp_path,
                          capture_output=True, text=True, check=True)  # fmt: skip
    assert read.stdout == hostile
    assert not (tmp_path / "PWNED").exists()


def test_unit_is_sandboxed_and_ordered_after_earlier_services():
    from infra.settings import Platform

    text = render(
        "/etc/systemd/system/aktienanalyse-frontend@.service",
        "/etc/systemd/system/aktienanalyse-service@.service",
        platform=Platform(), service="frontend", version="1.1.0",
        after=["aktienanalyse-event-bus@8003.service"], environment={"LOG_LEVEL": "info"},
        memory_max="512M", cpu_quota=100, run_as="aktienanalyse-frontend",
        secrets_file="/etc/aktienanalyse/frontend.secrets.env",
    )  # fmt: skip
    assert "After=aktienanalyse-event-bus@8003.service" in text
    assert (
        "ExecStart=/opt/aktienanalyse/current/frontend/bin/aktienanalyse-frontend --port %i" in text
    )
    assert {"MemoryMax=512M", "CPUQuota=100%", "CapabilityBoundingSet=",
            "User=aktienanalyse-frontend", "Group=aktienanalyse",
            "EnvironmentFile=/etc/aktienanalyse/frontend.secrets.env",
            'Environment="LOG_LEVEL=info"'} <= set(text.splitlines())  # fmt: skip


def test_environment_carries_the_wheel_contract_but_no_credentials():
    env = environment(PostgreSQL(), "10.0.0.31", "127.0.0.1")
    assert env["AKTIENANALYSE_DB_HOST"] == "10.0.0.31"
    assert env["AKTIENANALYSE_DB_NAME"] == "aktienanalyse_event_store"
    assert not any("USER" in name or "PASSWORD" in name for name in env)


def test_each_service_gets_its_own_credentials():
    from pydantic import SecretStr

    from deploys.app import credentials

    secrets = (SecretStr("db-secret-0123456789"), SecretStr("redis-secret-0123456789"))
    core = credentials("intelligent-core", PostgreSQL(), Redis(), secrets)
    frontend = credentials("frontend", PostgreSQL(), Redis(), secrets)
    assert core["AKTIENANALYSE_DB_USER"] == "stock_analysis_intelligent_core"
    assert frontend["AKTIENANALYSE_REDIS_USER"] == "aktienanalyse-frontend"
    assert core["AKTIENANALYSE_DB_PASSWORD"] != frontend["AKTIENANALYSE_DB_PASSWORD"]
    assert "db-secret" not in core["AKTIENANALYSE_DB_PASSWORD"]
    assert core["AKTIENANALYSE_REDIS_PASSWORD"] != core["AKTIENANALYSE_DB_PASSWORD"]


def test_every_service_gets_every_url_through_the_lb_internal_entry():
    from deploys.app import service_urls

    assert service_urls("10.0.0.11", 8080) == {
        "AKTIENANALYSE_URL_EVENT_BUS": "http://10.0.0.11:8080/event-bus",
        "AKTIENANALYSE_URL_INTELLIGENT_CORE": "http://10.0.0.11:8080/intelligent-core",
        "AKTIENANALYSE_URL_BROKER_GATEWAY": "http://10.0.0.11:8080/broker-gateway",
        "AKTIENANALYSE_URL_MONITORING": "http://10.0.0.11:8080/monitoring",
        "AKTIENANALYSE_URL_FRONTEND": "http://10.0.0.11:8080",
    }


def test_instance_ports_step_by_ten_from_the_seeds_port():
    from infra.settings import DEFAULT_SERVICES

    assert list(DEFAULT_SERVICES["intelligent-core"].ports) == [8001, 8011]
    assert list(DEFAULT_SERVICES["broker-gateway"].ports) == [8002]
    three = DEFAULT_SERVICES["frontend"].model_copy(update={"instances": 3})
    assert list(three.ports) == [8005, 8015, 8025]
