"""What a converge consults about a host before deciding anything, in one command.

pyinfra runs operations one at a time across all hosts, each waiting for the slowest host;
an operation that reads a fact when it runs costs a round trip in every one of those steps,
and so does each fact a deploy reads while it prepares. `read_snapshot`, called by
deploys/all.py before any operation, runs the commands of many facts as one (in each host's
own preparation, all hosts at once) and keeps their values for `read_once` (facts/once.py):
the operations then decide without contacting the host.
"""

from __future__ import annotations

import importlib
import secrets
import shlex
from typing import Any

from pyinfra import host
from pyinfra.api import FactBase

from facts.once import declare, fact_key, remember

Read = tuple[type[FactBase], dict[str, Any]]  # a fact and its arguments, as a deploy reads it
_MARK = "##aktienanalyse-snapshot"


def dotted(fact: type[FactBase]) -> str:
    return f"{fact.__module__}.{fact.__qualname__}"


def fact_named(name: str) -> type[FactBase]:
    """The fact class a snapshot request names (`module.Class`)."""
    module, _, qualname = name.rpartition(".")
    fact = getattr(importlib.import_module(module), qualname, None)
    if not (isinstance(fact, type) and issubclass(fact, FactBase)):
        raise ValueError(f"{name}: not a fact")
    return fact


class Snapshot(FactBase):
    """[value of each requested fact], `facts` being [(`module.Class`, its arguments)]: each
    section's output lines, None for a section whose command failed or never ran.

    Sections are marked with `nonce` (read_snapshot: random per run), so no line a fact
    prints, such as a file name with a newline in a listed directory, can pass for a marker.
    """

    default = list

    def command(self, facts: list[tuple[str, dict[str, Any]]], nonce: str) -> str:
        mark = f"{shlex.quote(_MARK)} {shlex.quote(nonce)}"  # quoted: '#' starts a comment
        return "; ".join(
            f"echo {mark} {index}; ( {fact_named(name)().command(**arguments)} ); "
            f'echo {mark} {index} "rc=$?"'
            for index, (name, arguments) in enumerate(facts)
        )

    def process(self, output: list[str]) -> list:
        first = output[0].split() if output else []
        if len(first) != 3 or first[0] != _MARK:
            return []
        mark = f"{_MARK} {first[1]} "
        sections: dict[int, list[str]] = {}
        failed: set[int] = set()
        current: list[str] = []
        for line in output:
            index, _, status = line.removeprefix(mark).partition(" ")
            if not (line.startswith(mark) and index.isdigit()):
                current.append(line)
            elif not status:
                current = sections.setdefault(int(index), [])
            elif status != "rc=0":
                failed.add(int(index))
        count = max(sections, default=-1) + 1
        return [None if i in failed else sections.get(i) for i in range(count)]


def read_snapshot(facts: list[Read]) -> None:
    """Read `facts` ([(fact, arguments)]) of the current host in one command and keep each
    value for `read_once`. A fact whose section failed or is missing is left to be read on
    its own when first needed (and to fail there, naming itself). From here on, `read_once`
    refuses a fact that is not among `facts`: every deploy declares what it reads."""
    by_key = {fact_key(fact, arguments): (fact, arguments) for fact, arguments in facts}
    unique = list(by_key.values())
    declare(unique)
    requested = [(dotted(fact), arguments) for fact, arguments in unique]
    sections = host.get_fact(Snapshot, facts=requested, nonce=secrets.token_hex(8))
    for (fact, arguments), lines in zip(unique, sections, strict=False):
        if lines is not None:
            remember(fact, arguments, fact().process(lines) if lines else fact().default())


def files_in(*directories: str) -> list[Read]:
    """Reads of whole directories (facts/files.py: FilesIn)."""
    from facts.files import FilesIn

    return [(FilesIn, {"directory": directory}) for directory in directories]


def file_entries(*paths: str) -> list[Read]:
    """Reads of single files, in directories that are never listed whole (such as /etc)."""
    from facts.files import FilesIn

    return [
        (FilesIn, dict(zip(("directory", "entry"), path.rsplit("/", 1), strict=True)))
        for path in paths
    ]
