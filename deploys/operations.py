"""Operations this project adds to pyinfra's own."""

from __future__ import annotations

from hashlib import sha1
from io import StringIO

from pyinfra import host, logger, state
from pyinfra.api import FileUploadCommand, StringCommand, operation
from pyinfra.api.util import get_file_sha1
from pyinfra.facts.files import File, FileContents, Sha1File
from pyinfra.operations.util.files import chmod, chown, ensure_mode_int


@operation()
def checked_file(
    dest: str,
    content: str,
    check: str,
    user: str = "root",
    group: str = "root",
    mode: int | str = 644,
):
    """
    Install ``content`` at ``dest`` only after ``check`` accepts it; never a broken live file.

    + dest: the live path
    + content: the desired file content
    + check: a shell command with ``{path}``, run against a staged copy (e.g. ``visudo -cf {path}``)
    + user, group, mode: ownership and mode of the live file

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

    if state.config.DIFF:
        current = host.get_fact(FileContents, path=dest) or []
        logger.info(f"    Will {'modify' if remote else 'create'} {dest}")
        for line in _diff_lines(current, content.splitlines()):
            logger.info(f"      {line}")

    staged = f"{dest}.pyinfra-new"
    assert get_file_sha1(StringIO(content)) == desired_sha
    yield FileUploadCommand(
        StringIO(content), staged, remote_temp_filename=host.get_temp_filename(staged)
    )
    yield chown(staged, user, group)
    yield chmod(staged, mode)
    yield StringCommand(f"{check.format(path=staged)} || {{ rm -f {staged}; exit 1; }}")
    yield StringCommand(f"mv -f {staged} {dest}")


def _diff_lines(old: list[str], new: list[str]) -> list[str]:
    from difflib import unified_diff

    return list(unified_diff(old, new, lineterm="", n=2))[2:]
