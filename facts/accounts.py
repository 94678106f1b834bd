"""Every account and group of a host in one command, and whether one is as wanted.

pyinfra's server.user reads the Users, Groups and Os facts on every call (Users runs a loop
over /etc/passwd). `infra.operations.ensure_user` asks `user_matches` first, from the
accounts read once per run, and calls server.user only for an account that differs.
"""

from __future__ import annotations

from pyinfra.api import FactBase

from facts.once import read_once


class Accounts(FactBase):
    """{"users": {name: {"home", "shell", "group"}}, "groups": {name: [members]}}: the
    primary group by name, members as `getent group` lists them (supplementary only)."""

    @staticmethod
    def default() -> dict:
        return {"users": {}, "groups": {}}

    def command(self) -> str:
        return "getent passwd && echo -- && getent group"

    def process(self, output: list[str]) -> dict:
        return parse(output)


def parse(lines: list[str]) -> dict:
    split = lines.index("--") if "--" in lines else len(lines)
    group_rows = [line.split(":") for line in lines[split + 1 :] if line.count(":") >= 3]
    group_names = {row[2]: row[0] for row in group_rows}
    users = {}
    for line in lines[:split]:
        row = line.split(":")
        if len(row) >= 7:
            users[row[0]] = {"home": row[5], "shell": row[6], "group": group_names.get(row[3])}
    groups = {row[0]: [m for m in row[3].split(",") if m] for row in group_rows}
    return {"users": users, "groups": groups}


def group_exists(name: str) -> bool:
    return name in read_once(Accounts)["groups"]


def user_matches(
    user: str,
    home: str | None = None,
    shell: str | None = None,
    group: str | None = None,
    groups: list[str] | None = None,
    append: bool = False,
) -> bool:
    """Whether `user` exists as server.user would leave it with these arguments."""
    accounts = read_once(Accounts)
    found = accounts["users"].get(user)
    if found is None:
        return False
    if any(
        want is not None and found[key] != want
        for key, want in (("home", home), ("shell", shell), ("group", group))
    ):
        return False
    if groups is None:
        return True
    member_of = {name for name, members in accounts["groups"].items() if user in members}
    return set(groups) <= member_of if append else set(groups) == member_of
