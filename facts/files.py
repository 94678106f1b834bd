"""The regular files of one directory with owner, mode and SHA-1: one command for all of them.

pyinfra's File and Sha1File cost two commands per path, and pyinfra 3 runs a fact again on
every call. `checked_file` and the wheelhouse ask `files_in` instead, which reads each
directory once per host and run.
"""

from __future__ import annotations

import shlex

from pyinfra.api import FactBase

from facts.once import read_once


class FilesIn(FactBase):
    """{name: {"mode": 644, "user": ..., "group": ..., "sha1": ...}} of the regular files
    directly in `directory` (symlinks and subdirectories left out); {} when it is missing."""

    default = dict

    def command(self, directory: str) -> str:
        return (
            f"cd {shlex.quote(directory)} 2>/dev/null || exit 0; "
            "find . -maxdepth 1 -type f -printf 'stat\\t%f\\t%m\\t%u\\t%g\\n' -exec sha1sum {} +"
        )

    def process(self, output: list[str]) -> dict[str, dict]:
        return parse(output)


def parse(lines: list[str]) -> dict[str, dict]:
    files: dict[str, dict] = {}
    sums: dict[str, str] = {}
    for line in lines:
        if line.startswith("stat\t"):
            _, name, mode, user, group = line.split("\t", 4)
            files[name] = {"mode": int(mode), "user": user, "group": group}
        elif "  ./" in line:
            digest, name = line.split("  ./", 1)
            sums[name] = digest.lstrip("\\")  # sha1sum marks escaped names with a backslash
    return {name: {**info, "sha1": sums.get(name)} for name, info in files.items()}


def files_in(directory: str) -> dict[str, dict]:
    """FilesIn of the current host, read once per run (facts/once.py)."""
    return read_once(FilesIn, directory=directory)


def file_state(path: str) -> dict | None:
    """The FilesIn entry of `path`, or None when it is not a regular file."""
    directory, name = path.rsplit("/", 1)
    return files_in(directory or "/").get(name)
