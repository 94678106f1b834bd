"""systemd calendar expressions (`OnCalendar=`), checked by systemd itself before contact.

`systemd-analyze calendar` on the machine that runs pyinfra parses the expression with the
same code the hosts' timers use; what it rejects never reaches a unit file.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import cache

# What a calendar expression is made of; anything else (a newline, '%', '$', quotes) is
# refused before systemd-analyze is asked.
CALENDAR_CHARACTERS = re.compile(r"^[A-Za-z0-9 *:,./~+-]{1,80}$")


@cache
def calendar_problem(expression: str) -> str | None:
    """Why systemd would reject `expression` as an OnCalendar= value, or None."""
    if not CALENDAR_CHARACTERS.fullmatch(expression):
        return "may hold only letters, digits, spaces and * : , . / ~ + -"
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        return "cannot be checked: systemd-analyze is not installed where pyinfra runs"
    result = subprocess.run(
        [analyze, "calendar", "--", expression], capture_output=True, text=True, check=False
    )
    return None if result.returncode == 0 else "systemd rejects this calendar expression"
