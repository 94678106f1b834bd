"""Rotating a secret as the lab's operator (pyinfra over SSH as `ops`, sudo): while the new
Redis password travels to the app host (each service's own, derived from it, in its secrets
file), another local user, watching every
place an upload passes (/tmp, the operator's upload directory, the staged copies), never reads
it. Afterwards the services run with it and the lab's own password is put back."""

from __future__ import annotations

import json
import secrets
import subprocess

import pytest
from pydantic import SecretStr

from infra.credentials import service_password
from tests.acceptance import lab
from tools.apply import changed_operations, failed_operations, run_pyinfra

pytestmark = pytest.mark.journey("single")

APP_HOST = lab.names("app")[0]
WATCHED = [
    "/tmp/* /tmp/.[!.]*",
    f"/home/{lab.MANIFEST['operator']}/.aktienanalyse-upload/*",
    "/etc/.aktienanalyse-staging/*",
]
# As `nobody`, read whatever it can of every watched path, over and over, for `seconds`.
WATCH = (
    "runuser -u nobody -- bash -c 'end=$((SECONDS + {seconds})); while ((SECONDS < end)); do "
    "cat " + " ".join(WATCHED) + " 2>/dev/null; done'"
)


def converge(limit: list[str], settings: dict) -> dict:
    env = {"AKTIENANALYSE_LAB_SETTINGS": json.dumps(settings)}
    extra = tuple(option for host in limit for option in ("--limit", host))
    payload = run_pyinfra("inventories/lab.py", extra=extra, env=env)
    assert (payload["exit_code"], failed_operations(payload)) == (0, [])
    assert changed_operations(payload), "the converge changed nothing"
    return payload


@pytest.fixture(scope="module")
def rotation(tmp_path_factory):
    rotated = tmp_path_factory.mktemp("rotation") / "redis_app_password"
    rotated.write_text(secrets.token_urlsafe(24) + "-rotated")
    rotated.chmod(0o600)
    # A file the watcher can read, so a watcher that reads nothing fails the test.
    sentinel = f"watch-sentinel-{secrets.token_hex(8)}"
    lab.ssh(APP_HOST, f"echo {sentinel} > /tmp/aktienanalyse-watch-sentinel")
    watcher = subprocess.Popen(
        ["ssh", "-F", lab.SSH_CONFIG, APP_HOST, WATCH.format(seconds=240)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    hosts = sorted(set(lab.names("app") + lab.names("cache")))
    try:
        converge(hosts, {"secrets": {"redis_app_password": {"file": str(rotated)}}})
        environment = lab.ssh(APP_HOST, "cat /etc/aktienanalyse/frontend.secrets.env").stdout
        health = lab.ssh(APP_HOST, "curl -s -o /dev/null -w '%{http_code}' "
                                   "http://127.0.0.1:8005/health").stdout  # fmt: skip
    finally:
        # The remote loop outlives the SSH session; stop it, then read what it saw.
        lab.ssh(APP_HOST, "pkill -u nobody -x bash; rm -f /tmp/aktienanalyse-watch-sentinel")
        watcher.terminate()
        seen, _ = watcher.communicate(timeout=30)
        converge(hosts, {})  # the lab's own password again
    # What travels: the frontend's own Redis password, derived from the rotated secret.
    derived = service_password(SecretStr(rotated.read_text()), "redis", "frontend")
    return {"password": derived.get_secret_value(), "master": rotated.read_text(),
            "seen": seen.decode(errors="replace"),
            "sentinel": sentinel, "environment": environment, "health": health}  # fmt: skip


def test_the_watcher_saw_what_another_user_may_read(rotation):
    assert rotation["sentinel"] in rotation["seen"]


def test_the_new_password_reaches_the_services(rotation):
    assert rotation["password"] in rotation["environment"] and rotation["health"] == "200"


def test_another_local_user_never_reads_it_on_its_way(rotation):
    assert rotation["password"] not in rotation["seen"]
    assert rotation["master"] not in rotation["seen"]
