"""`make plan` against the converged lab: it shows what would change, and no secret.

Nothing is applied: every plan here is a dry run with settings changed through
AKTIENANALYSE_LAB_SETTINGS.
"""

import hashlib
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from infra.services import CORE, MIGRATION_UNIT
from infra.settings import SERVICES
from tests.acceptance import lab
from tools.plan import make_plan

# One worker for the module: its plans share one dry run (make acceptance: --dist loadgroup).
pytestmark = pytest.mark.xdist_group("plan")

REPO = Path(__file__).resolve().parents[2]


def lab_secret_values() -> list[str]:
    """Every lab secret, its SHA-256, and each base64 line of the PEM."""
    values = []
    for path in Path(lab.MANIFEST["secrets_dir"]).iterdir():
        value = path.read_text().strip()
        values += [value, hashlib.sha256(value.encode()).hexdigest()]
        values += [line for line in value.splitlines() if len(line) > 40]
    return values


@pytest.fixture(scope="module")
def changed_plan(tmp_path_factory):
    """The plan after rotating the Redis app password and changing a rendered template."""
    tmp = tmp_path_factory.mktemp("plan")
    rotated = tmp / "redis_app_password"
    rotated.write_text(secrets.token_urlsafe(24))
    rotated.chmod(0o600)  # a secret file others may read is refused
    wanted = {
        "secrets": {"redis_app_password": {"file": str(rotated)}},
        "haproxy": {"check_interval_ms": 3000},
    }
    output = tmp / "plan.md"
    run = subprocess.run(
        [sys.executable, "-m", "tools.plan", "inventories/lab.py", "--output", str(output)],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "AKTIENANALYSE_LAB_SETTINGS": json.dumps(wanted)},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return {"markdown": output.read_text(), "printed": run.stdout + run.stderr,
            "rotated": rotated.read_text()}  # fmt: skip


def test_plan_shows_the_rotated_secret_reaching_redis(changed_plan):
    assert "ACL users /etc/redis/users.acl" in changed_plan["markdown"]


def test_plan_restarts_redis_for_the_rotated_secret(changed_plan):
    assert "**restart** Redis | Restart Redis" in changed_plan["markdown"]


def test_plan_shows_the_rotated_secret_reaching_the_services(changed_plan):
    assert "Secrets of frontend /etc/aktienanalyse/frontend.secrets.env" in changed_plan["markdown"]


def test_plan_shows_the_template_change_as_a_diff(changed_plan):
    changed = "+    default-server inter 3000ms fastinter 500ms downinter 500ms fall 2 rise 2"
    assert changed in changed_plan["markdown"]


def test_plan_reloads_haproxy_for_the_template_change(changed_plan):
    assert "**reload** HAProxy | Reload HAProxy" in changed_plan["markdown"]


def test_plan_says_why_haproxy_reloads(changed_plan):
    assert "  - because: HAProxy configuration changes" in changed_plan["markdown"]


def test_plan_says_why_redis_restarts(changed_plan):
    assert "  - because: ACL users changes" in changed_plan["markdown"]


def test_a_secret_in_a_non_secret_setting_fails_the_plan_without_showing_it(tmp_path):
    """As a careless change would: the lab's PostgreSQL password as log_line_prefix."""
    wanted = {
        "postgresql": {"overrides": {"log_line_prefix": lab.secret("postgresql_app_password")}}
    }
    output = tmp_path / "plan.md"
    run = subprocess.run(
        [sys.executable, "-m", "tools.plan", "inventories/lab.py", "--output", str(output)],
        cwd=REPO, capture_output=True, text=True,
        env={**os.environ, "AKTIENANALYSE_LAB_SETTINGS": json.dumps(wanted)},
    )  # fmt: skip
    shown = output.read_text() + run.stdout + run.stderr
    assert run.returncode == 1
    assert "postgresql.overrides.log_line_prefix: holds a secret's value" in shown
    assert leaked(shown, "") == []


def leaked(text: str, rotated: str) -> list[str]:
    return [value for value in [*lab_secret_values(), rotated] if value and value in text]


def test_plan_contains_no_lab_secret(changed_plan):
    assert leaked(changed_plan["markdown"], changed_plan["rotated"]) == []


def test_plan_command_prints_no_lab_secret(changed_plan):
    assert leaked(changed_plan["printed"], changed_plan["rotated"]) == []


def installed(host: str, service: str, version: str) -> bool:
    marker = f"/opt/aktienanalyse/releases/{service}/{version}/.complete"
    return lab.ssh(host, f"test -e {marker}").returncode == 0


def migrates(host: str) -> bool:
    """Whether `host` is the app host that runs migrations (it alone has the oneshot unit)."""
    return lab.ssh(host, f"test -e /etc/systemd/system/{MIGRATION_UNIT}").returncode == 0


def test_plan_of_a_lab_one_release_behind_lists_exactly_the_upgrade(monkeypatch):
    monkeypatch.setenv(
        "AKTIENANALYSE_LAB_SETTINGS",
        json.dumps({"services": {name: {"version": "1.1.0"} for name in SERVICES}}),
    )
    expected = set()
    for host in lab.names("app"):
        expected.add((host, "Application | Reload systemd (unit files changed)"))
        for name in SERVICES:
            unit = f"/etc/systemd/system/aktienanalyse-{name}@.service"
            expected.add((host, f"Application | Render {unit}"))
            if not installed(host, name, "1.1.0"):  # earlier tests may have installed it
                expected.add((host, f"Application | Install {name} 1.1.0"))
            if name == CORE and migrates(host):
                expected.add((host, f"Application | Migrate and switch {name} to 1.1.0"))
            else:
                expected.add((host, f"Application | Switch {name} to 1.1.0 (health-gated)"))
    plan, _ = make_plan("inventories/lab.py")
    planned = {(host, c.operation) for host, changes in plan.hosts.items() for c in changes}
    assert planned == expected
