"""The regular files of one directory with owner, mode and SHA-1: one command for all of them.

pyinfra's File and Sha1File cost two commands per path, and pyinfra 3 runs a fact again on
every call. `checked_file` and the wheelhouse ask `files_in` instead, which reads each
directory once per host and run.
"""

from __future__ import annotations

import shlex

from pyinfra.api import FactBase

from facts.once import is_read, read_once


class FilesIn(FactBase):
    """{name: {"type": "f", "mode": 644, "user": ..., "group": ..., "sha1": ...}} of what is
    directly in `directory`, "." being the directory itself (type as find's %y: f, d, l, ...;
    sha1 for regular files only); {} when it is missing. With `entry`, of that one only: a
    directory like /etc is never read whole (its files include /etc/shadow). Names holding a
    control character are not listed: no deploy writes one, and a newline in a name could
    pass for an entry."""

    default = dict

    def command(self, directory: str, entry: str | None = None) -> str:
        enter = f"cd {shlex.quote(directory)} 2>/dev/null || exit 0"
        # A name with a control character (a newline, a tab) is left out: it could forge a line.
        listing = (
            "! -name '*[[:cntrl:]]*' -printf 'stat\\t%f\\t%y\\t%m\\t%u\\t%g\\n' "
            "-type f -exec sha1sum {} +"
        )
        if entry is None:
            return f"{enter}; find . -maxdepth 1 {listing}"
        path = shlex.quote(f"./{entry}")
        found = f"[ -e {path} ] || [ -L {path} ]"
        return f"{enter}; if {found}; then find {path} -maxdepth 0 {listing}; fi"

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
    """The FilesIn entry of `path`, None when nothing is there: from the listing of its
    directory or, else, of `path` itself (its "." entry; None there means it is no directory)
    when either is in the snapshot, else read on its own."""
    path = path.rstrip("/")
    directory, name = path.rsplit("/", 1)
    directory = directory or "/"
    if is_read(FilesIn, directory=directory):
        return files_in(directory).get(name)
    if is_read(FilesIn, directory=path):
        return files_in(path).get(".")
    return read_once(FilesIn, directory=directory, entry=name).get(name)


def regular_files(directory: str) -> dict[str, dict]:
    """{name: {"mode", "user", "group", "sha1"}} of the regular files in `directory`."""
    return {
        name: {key: value for key, value in found.items() if key != "type"}
        for name, found in files_in(directory).items()
        if found["type"] == "f"
    }


def file_state(path: str) -> dict | None:
    """{"mode", "user", "group", "sha1"} of `path`, or None when it is not a regular file."""
    found = path_state(path)
    if found is None or found["type"] != "f":
        return None
    return {key: value for key, value in found.items() if key != "type"}
