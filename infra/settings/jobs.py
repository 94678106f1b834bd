"""`jobs`: scheduled jobs besides the backups, each a systemd timer and its oneshot service."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from infra.settings.services import ServiceName
from infra.settings.types import SAFE_PATH, Calendar, Strict, Text

JOB_NAME = re.compile(r"^[a-z][a-z0-9-]{0,40}$")
PROGRAM = re.compile(r"^[a-z0-9][a-z0-9._+-]*$")


class Job(Strict):
    """A scheduled job: a systemd timer and its hardened oneshot service."""

    schedule: Calendar = Field(description="systemd calendar expression (OnCalendar=)")
    run_as: Literal["postgres"] | ServiceName = Field(
        description="'postgres' (on db hosts) or a service, whose user, release and "
        "environment the job uses (on app hosts where the service is deployed)"
    )
    command: list[Text] = Field(
        min_length=1,
        description="program and arguments, no shell; a service's program is taken from its "
        "release's bin/",
    )

    @field_validator("command")
    @classmethod
    def _program(cls, value: list[str]) -> list[str]:
        if not (PROGRAM.fullmatch(value[0]) or SAFE_PATH.fullmatch(value[0])):
            raise ValueError("the program must be a plain name or an absolute path")
        return value


DEFAULT_JOBS = {
    "postgresql-vacuum": Job(
        schedule="Sun *-*-* 03:30",
        run_as="postgres",
        command=["vacuumdb", "--all", "--analyze"],
    ),
}
