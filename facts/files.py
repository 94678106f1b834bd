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
    """{name: {"type": "f", "mode": 644, "user": ..., "group": ..., "sha1": ...}} of what is
    directly in `directory` (type as find's %y: f, d, l, ...; sha1 for regular files only);
    {} when it is missing."""

    default = dict

    def command(self, directory: str) -> str:
        return (
            f"cd {shlex.quote(directory)} 2>/dev/null || exit 0; "
            "find . -mindepth 1 -maxdepth 1 -printf 'stat\\t%f\\t%y\\t%m\\t%u\\t%g\\n' "
            "-type f -exec sha1sum {} +"
        )

    def process(self, output: list[str]) -> dict[str, dict]:
        return parse(output)


def parse(lines: list[str]) -> dict[str, dict]:
    files: dict[str, dict] = {}
    sums: dict[str, str] = {}
    for line in lines:
        if line.startswith("stat\t"):
            _, name, kind, mode, user, group = line.split("\t", 5)
            files[name] = {"type": kind, "mode": int(mode), "user": user, "group": group}
        elif "  ./" in line:
            digest, name = line.split("  ./", 1)
            sums[name] = digest.lstrip("\\")  # sha1sum marks escaped names with a backslash
    return {
        name: {**info, "sha1": sums.get(name)} if info["type"] == "f" else info
        for name, info in files.items()
    }


def files_in(directory: str) -> dict[str, dict]:
    """FilesIn of the current host, read once per run (facts/once.py)."""
    return read_once(FilesIn, directory=directory)


def path_state(path: str) -> dict | None:
    """The FilesIn entry of `path` (read with its directory), None when nothing is there."""
    directory, name = path.rstrip("/").rsplit("/", 1)
    return files_in(directory or "/").get(name)


def regular_files(directory: str) -> dict[str, dict]:
    """{name: {"mode", "user", "group", "sha1"}} of the regular files in `directory`."""
    return {
        name: {key: value for key, value in found.items() if key != "type"}
        for name, found in files_in(directory).items()
        if found["type"] == "f"
    }


def file_state(path: str) -> dict | None:
    """{"mode", "user", "group", "sha1"} of `path`, or None when it is not a regular file."""
    directory, name = path.rsplit("/", 1)
    return regular_files(directory or "/").get(name)
