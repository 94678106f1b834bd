"""Where uploads wait before sudo copies them into place.

With `_sudo`, pyinfra uploads a file as the SSH user (SFTP) to a temporary path, then copies
it with sudo. Its default temporary path is in /tmp with the SFTP umask, readable by every
local user while a secret is on its way. This fact names a directory in the SSH user's home
that only that user can enter.
"""

from __future__ import annotations

from pyinfra.api import FactBase

UPLOAD_DIR = ".aktienanalyse-upload"


class PrivateUploadDir(FactBase):
    """`$HOME/.aktienanalyse-upload` of the user the command runs as, mode 0700, created if
    missing (the one thing this fact changes). Read it with `_sudo=False`: the SSH user's."""

    def command(self) -> str:
        return (
            f'dir="$HOME/{UPLOAD_DIR}" && install -d -m 700 "$dir" && chmod 700 "$dir" '
            '&& echo "$dir"'
        )

    def process(self, output: list[str]) -> str:
        return output[-1]
