"""The rendered aktienanalyse-switch script passes shellcheck."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from infra.templating import render

SHELLCHECK = shutil.which("shellcheck")
# Findings already reported for the template and not fixed yet, as (code, source line): any
# other finding fails test_shellcheck; a listed one that is gone fails the second test, so the
# list only shrinks.
KNOWN: set[tuple[str, str]] = set()  # (code, line) findings accepted, each with its reason
FINDING = re.compile(r"^[^:]+:(?P<line>\d+):\d+: .* \[(?P<code>SC\d+)\]$")

pytestmark = pytest.mark.skipif(SHELLCHECK is None, reason="shellcheck is not installed")


def rendered() -> str:
    return render(
        "/usr/local/sbin/aktienanalyse-switch",
        base_dir="/opt/aktienanalyse",
        timeout=60,
        lock_timeout=600,
        lb_admin=["/run/haproxy/admin.sock", "10.0.0.11:9999"],
        server_prefix="app-1",
    )


@pytest.fixture(scope="module")
def findings(tmp_path_factory) -> dict[tuple[str, str], str]:
    """shellcheck's findings on the rendered script: (code, source line) -> its report."""
    script = rendered()
    path: Path = tmp_path_factory.mktemp("switch") / "aktienanalyse-switch"
    path.write_text(script)
    result = subprocess.run(
        [SHELLCHECK, "--format=gcc", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode in (0, 1), result.stderr  # 1: findings; anything else: no check
    lines = script.splitlines()
    found = {}
    for report in result.stdout.splitlines():
        match = FINDING.match(report)
        assert match, f"unexpected shellcheck output: {report}"
        source = lines[int(match["line"]) - 1].strip()
        found[(match["code"], source)] = f"{report}\n    {source}"
    return found


def test_shellcheck(findings):
    new = [report for key, report in findings.items() if key not in KNOWN]
    assert not new, "shellcheck reports:\n" + "\n".join(new)


def json_gate() -> str:
    """The Python program the script's health gate runs on a /health body."""
    return re.search(r"json_version_is='(.*?)'\n", rendered(), re.S)[1]


@pytest.mark.parametrize(
    ("body", "live"),
    [
        ('{"version":"1.1.0"}', True),  # FastAPI's JSONResponse: compact
        ('{"service": "frontend", "version": "1.1.0"}', True),  # json.dumps: spaced
        ('{"version":"1.1.0 "}', False),
        ('{"version":"1.0.0","note":"\\"version\\": \\"1.1.0\\""}', False),  # text inside
        ("version: 1.1.0", False),
        ('["1.1.0"]', False),
        ("", False),
    ],
)
def test_the_health_gate_reads_json_not_text(body, live):
    result = subprocess.run(["python3", "-c", json_gate(), "1.1.0"], input=body, text=True)
    assert (result.returncode == 0) is live
