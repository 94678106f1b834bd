"""Render templates/<target path>.j2 with an explicit context, and put the result on a host.

The template's path mirrors where the file lands:
templates/etc/sudoers.d/aktienanalyse-operators.j2 → /etc/sudoers.d/aktienanalyse-operators.
Rendering happens on the control machine, so unit tests can check the text without a host.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    undefined=StrictUndefined,  # a missing variable is an error, not an empty string
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


def systemd_quoted(value: str) -> str:
    """A value for a double-quoted systemd assignment (`Environment="NAME=value"`): backslash
    and quote escaped, `%` doubled so systemd expands no specifier. Settings carry no control
    characters (infra/settings/types.py), so nothing else can end the line."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")


def systemd_command(argv: list[str]) -> str:
    """An ExecStart= value that systemd splits back into exactly `argv`: every word
    double-quoted, with backslash, quote, `%` (specifiers) and `$` (variables) escaped."""
    words = (systemd_quoted(word).replace("$", "$$") for word in argv)
    return " ".join(f'"{word}"' for word in words)


_env.filters["systemd_quoted"] = systemd_quoted
_env.filters["systemd_command"] = systemd_command
_env.filters["pg_quoted"] = lambda value: str(value).replace("\\", "\\\\").replace("'", "''")
_env.filters["sh"] = shlex.quote  # a value in a shell script, one word whatever it holds


def render(target: str, template: str | None = None, **context: Any) -> str:
    """Render the template for the absolute host path `target` (or `template`, when several
    targets share one, e.g. one unit template per service)."""
    return _env.get_template((template or target).lstrip("/") + ".j2").render(**context)


def put_rendered(
    target: str,
    context: dict[str, Any],
    template: str | None = None,
    name: str | None = None,
    **kwargs: Any,
):
    """The one way to write a templated file: `checked_file` (infra/operations.py) of the
    rendered template at `target`, named `name` (default "Render <target>"). ``kwargs``:
    check, user, group, mode, sensitive. Content that is no template goes to `checked_file`."""
    from infra.operations import checked_file

    content = render(target, template, **context)
    return checked_file(name=name or f"Render {target}", dest=target, content=content, **kwargs)
