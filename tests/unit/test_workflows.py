"""What the workflows promise that only GitHub can enforce, read from the files themselves
(act runs their steps in tests/acceptance/test_workflows.py, but not GitHub's own checks)."""

import subprocess
from pathlib import Path

import pytest
import yaml

WORKFLOWS = Path(__file__).resolve().parents[2] / ".github" / "workflows"
APPLY = yaml.safe_load((WORKFLOWS / "apply.yml").read_text())
PULL_REQUEST = yaml.safe_load((WORKFLOWS / "pull-request.yml").read_text())
RUNNER = ["self-hosted", "aktienanalyse"]
TARGET = "${{ vars.AKTIENANALYSE_INVENTORY || 'inventories/prod.py' }}"
PRODUCTION_JOBS = [APPLY["jobs"]["apply"], PULL_REQUEST["jobs"]["plan"]]


@pytest.mark.parametrize("job", PRODUCTION_JOBS, ids=["apply", "plan"])
def test_jobs_that_reach_production_run_on_the_self_hosted_runner(job):
    assert job["runs-on"] == RUNNER


@pytest.mark.parametrize("job", PRODUCTION_JOBS, ids=["apply", "plan"])
def test_jobs_that_reach_production_wait_for_their_environment(job):
    assert job["environment"] in ("production", "production-plan")


def test_every_other_job_runs_on_githubs_runners():
    others = [job for name, job in PULL_REQUEST["jobs"].items() if name != "plan"]
    assert all(job["runs-on"] == "ubuntu-24.04" for job in others)


@pytest.mark.parametrize("workflow", [APPLY, PULL_REQUEST], ids=["apply", "pull-request"])
def test_the_target_comes_from_one_repository_variable(workflow):
    assert workflow["env"]["INVENTORY"] == TARGET


@pytest.mark.parametrize("job", PRODUCTION_JOBS, ids=["apply", "plan"])
def test_no_step_names_an_inventory_of_its_own(job):
    runs = [step.get("run", "") for step in job["steps"] if "make " in step.get("run", "")]
    assert runs and not [run for run in runs if "inventories/" in run]


def test_one_apply_at_a_time_and_never_cancelled():
    assert APPLY["concurrency"] == {"group": "production", "cancel-in-progress": False}


@pytest.mark.parametrize("job", PRODUCTION_JOBS, ids=["apply", "plan"])
def test_the_deploy_key_stays_in_the_jobs_temporary_directory(job):
    key_files = {step.get("env", {}).get("AKTIENANALYSE_SSH_KEY_FILE") for step in job["steps"]}
    assert key_files - {None} == {"${{ runner.temp }}/deploy_key"}


def test_only_the_plan_comment_is_skipped_under_act():
    steps = [s for job in [*APPLY["jobs"].values(), *PULL_REQUEST["jobs"].values()]
             for s in job["steps"]]  # fmt: skip
    skipped = [step["name"] for step in steps if "env.ACT" in str(step.get("if", ""))]
    assert skipped == ["Post the plan as the pull request's plan comment"]


def _inventory_check(job: dict) -> str:
    return next(s["run"] for s in job["steps"] if s.get("name", "").startswith("Check the inv"))


@pytest.mark.parametrize("job", PRODUCTION_JOBS, ids=["apply", "plan"])
@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("inventories/prod.py", True),
        ("inventories/lab.py", True),
        ("inventories/prod.py; touch /tmp/x", False),
        ("inventories/../deploys/all.py", False),
        ("/etc/passwd", False),
        ("inventories/missing.py", False),
        ("", False),
    ],
)
def test_the_inventory_variable_is_checked_before_use(job, value, accepted):
    """The repository variable reaches make's command lines: only a file of inventories/."""
    run = subprocess.run(
        ["bash", "-c", _inventory_check(job)],
        cwd=WORKFLOWS.parent.parent, env={"INVENTORY": value, "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True,
    )  # fmt: skip
    assert (run.returncode == 0) == accepted
