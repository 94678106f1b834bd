"""Least privilege, tried as an attacker would: a daemon's account plants a link where root
writes our configuration on the next converge, and fails."""

from __future__ import annotations

import shlex

import pytest

from deploys.postgresql import DROP_IN, HBA_FILE
from deploys.redis import ACL_FILE, CONFIG_FILE
from infra.operations import staging_path
from tests.acceptance import lab

# (group whose host has the file, the account that runs the daemon reading it, the file)
WRITTEN_BY_ROOT = [
    ("cache", "redis", CONFIG_FILE),
    ("cache", "redis", ACL_FILE),
    ("db", "postgres", DROP_IN),
    ("db", "postgres", HBA_FILE),
]
TARGET = "/etc/systemd/system"  # what a planted link would hand over


def as_user(group: str, user: str, command: str):
    return lab.ssh(lab.names(group)[0], f"runuser -u {user} -- sh -c {shlex.quote(command)}")


def cases():
    return [
        pytest.param(group, user, path, id=f"{user}:{path}")
        for group, user, path in WRITTEN_BY_ROOT
        if lab.names(group)
    ]


@pytest.mark.parametrize(("group", "user", "path"), cases())
def test_daemon_cannot_plant_a_link_at_the_staged_path(group, user, path):
    result = as_user(group, user, f"ln -s {TARGET} {shlex.quote(staging_path(path))}")
    assert result.returncode != 0
    assert "Permission denied" in result.stderr


@pytest.mark.parametrize(("group", "user", "path"), cases())
def test_daemon_cannot_replace_anything_beside_the_live_file(group, user, path):
    directory = path.rsplit("/", 1)[0]
    result = as_user(group, user, f"ln -s {TARGET} {shlex.quote(directory + '/planted')}")
    assert result.returncode != 0
    assert "Permission denied" in result.stderr


@pytest.mark.parametrize(("group", "user", "path"), cases())
def test_daemon_cannot_rename_the_live_file(group, user, path):
    result = as_user(group, user, f"mv {shlex.quote(path)} {shlex.quote(path + '.old')}")
    assert result.returncode != 0
