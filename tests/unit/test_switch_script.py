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


@pytest.fixture(scope="module")
def findings(tmp_path_factory) -> dict[tuple[str, str], str]:
    """shellcheck's findings on the rendered script: (code, source line) -> its report."""
    script = render(
        "/usr/local/sbin/aktienanalyse-switch",
        base_dir="/opt/aktienanalyse",
        timeout=60,
        lb_admin=["/run/haproxy/admin.sock", "10.0.0.11:9999"],
        server_prefix="app-1",
    )
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
