"""Operations this project adds to pyinfra's own."""

from __future__ import annotations

import json
import os
from hashlib import sha1
from io import StringIO

from pyinfra import host, logger, state
from pyinfra.api import FileUploadCommand, StringCommand, operation
from pyinfra.api.operation import OperationMeta
from pyinfra.api.util import get_file_sha1
from pyinfra.facts.files import File, FileContents, Sha1File
from pyinfra.operations import apt
from pyinfra.operations.util import any_changed
from pyinfra.operations.util.files import chmod, chown, ensure_mode_int, generate_color_diff


@operation()
def checked_file(
    dest: str,
    content: str,
    check: str | None = None,
    user: str = "root",
    group: str = "root",
    mode: int | str = 644,
    sensitive: bool = False,
):
    """
    Install ``content`` at ``dest`` atomically, after ``check`` (if given) accepts it.

    + dest: the live path
    + content: the desired file content
    + check: a shell command with ``{path}``, run against a staged copy (e.g. ``visudo -cf {path}``)
    + user, group, mode: ownership and mode of the live file
    + sensitive: the content holds secrets (or hashes of them): ``--diff`` never shows it

    The staged copy sits next to ``dest`` (same filesystem) as ``<dest>.pyinfra-new`` and is
    renamed over ``dest`` atomically once the check passes. When the check fails the staged
    copy is removed, the live file is untouched and the operation fails with the check's output.
    """
    mode = ensure_mode_int(mode)
    remote = host.get_fact(File, path=dest)
    desired_sha = sha1(content.encode()).hexdigest()
    if (
        remote
        and host.get_fact(Sha1File, path=dest) == desired_sha
        and remote["mode"] == mode
        and (remote["user"], remote["group"]) == (user, group)
    ):
        host.noop(f"{dest} is up to date")
        return

    if state.config.DIFF:  # the same format as files.put: deploys/plan.py reads it
        host.log(f"Will {'modify' if remote else 'create'} {dest}")
        if sensitive:
            logger.info("  (content not shown: it holds secrets)")
        else:
            current = [f"{line}\n" for line in host.get_fact(FileContents, path=dest) or []]
            for line in generate_color_diff(current, content.splitlines(keepends=True)):
                logger.info("  %s", line)
        logger.info("")

    staged = f"{dest}.pyinfra-new"
    assert get_file_sha1(StringIO(content)) == desired_sha
    yield FileUploadCommand(
        StringIO(content), staged, remote_temp_filename=host.get_temp_filename(staged)
    )
    yield chown(staged, user, group)
    yield chmod(staged, mode)
    if check:
        yield StringCommand(f"{check.format(path=staged)} || {{ rm -f {staged}; exit 1; }}")
    yield StringCommand(f"mv -f {staged} {dest}")


def run_if_changed(
    watched: list[OperationMeta], operation, needed: bool = False, **kwargs
) -> OperationMeta:
    """Call `operation` so that it runs only when one of `watched` changed something
    (a reload after its configuration changed), or in any case when `needed`.

    One call site either way: pyinfra identifies an operation by its call site (and, in a
    loop, by how often the site was reached), and every host must agree on that.

    pyinfra cannot evaluate such a condition before the run, so a dry run lists the operation
    as "conditional". When AKTIENANALYSE_PLAN_CONDITIONS names a file, the dependency is noted
    there, and deploys/plan.py decides from the watched operations' planned changes.
    """
    meta = operation(**({} if needed else {"_if": any_changed(*watched)}), **kwargs)
    notes = os.environ.get("AKTIENANALYSE_PLAN_CONDITIONS")
    if notes and not needed:
        # _hash is the operation's op_hash in pyinfra's JSON output; it has no public name.
        note = {"host": host.name, "op": meta._hash, "watched": [op._hash for op in watched]}
        with open(notes, "a") as file:
            file.write(json.dumps(note) + "\n")
    return meta


def apt_install(name: str, packages: list[str]):
    """apt.packages, host by host, with a hard timeout and retries.

    apt-cacher-ng races when several hosts refresh the same index in the same second, and one
    apt-get then hangs; a hang is cut off and retried.
    """
    return apt.packages(
        name=name,
        packages=packages,
        update=True,
        cache_time=24 * 3600,
        no_recommends=True,
        _serial=True,
        _timeout=300,
        _retries=2,
        _retry_delay=5,
    )
