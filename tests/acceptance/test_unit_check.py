"""infra/operations.py's unit check against a real systemd: what `systemd-analyze verify`
would only warn about ("ignoring") refuses the staged unit; the live units pass."""

import shlex

import pytest

from infra.operations import unit_check
from infra.services import UNIT_DIR
from tests.acceptance import lab

APP_HOST = lab.names("app")[0]
UNIT = "aktienanalyse-frontend@.service"


def check_staged(edit: str):
    """Stage the live frontend unit through `edit` (a sed script) and run the check on it.
    Each case stages its own copy: the cases run in parallel (make acceptance)."""
    check = unit_check(UNIT).replace("{path}", '"$staged"')
    return lab.ssh(
        APP_HOST,
        f'staged=$(mktemp) || exit 1; sed {shlex.quote(edit)} {UNIT_DIR}/{UNIT} > "$staged"; '
        f'{check}; status=$?; rm -f "$staged"; exit $status',
    )


@pytest.mark.parametrize(
    "edit",
    ["s/^MemoryMax=.*/MemoryMax=512X/", "s/^ProtectSystem=/ProtectSystm=/", "$a Bogus=1"],
    ids=["invalid value", "misspelt key", "unknown key"],
)
def test_a_unit_systemd_would_half_ignore_is_refused(edit):
    result = check_staged(edit)
    assert result.returncode != 0 and f"/{UNIT}:" in result.stderr


def test_the_live_unit_passes():
    assert check_staged("").returncode == 0
