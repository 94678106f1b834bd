"""Render templates/<target path>.j2 with an explicit context, and put the result on a host.

The template's path mirrors where the file lands:
templates/etc/sudoers.d/aktienanalyse-operators.j2 → /etc/sudoers.d/aktienanalyse-operators.
Rendering happens on the control machine, so unit tests can check the text without a host.
"""

from __future__ import annotations

from io import StringIO
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


def render(target: str, template: str | None = None, **context: Any) -> str:
    """Render the template for the absolute host path `target` (or `template`, when several
    targets share one, e.g. one unit template per service)."""
    return _env.get_template((template or target).lstrip("/") + ".j2").render(**context)


def put_rendered(target: str, context: dict[str, Any], template: str | None = None, **put_kwargs):
    """files.put of the rendered template to `target` (diffable, idempotent by checksum)."""
    from pyinfra.operations import files

    return files.put(
        name=f"Render {target}",
        src=StringIO(render(target, template, **context)),
        dest=target,
        **put_kwargs,
    )
