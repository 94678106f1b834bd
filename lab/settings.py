"""The lab's own settings layer: merged key by key, for the lab inventory only.

pyinfra replaces a top-level setting whole; tests that change one field of a section pass
only that field (AKTIENANALYSE_LAB_SETTINGS) and the lab inventory merges it over its own
sections with `deep_merge` before handing them to pyinfra as host data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _is_secret_ref(value: Any) -> bool:
    return isinstance(value, Mapping) and bool(value) and set(value) <= {"env", "file"}


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge dicts key by key; other values, and secret references, replace what is below."""
    merged = dict(base)
    for key, value in override.items():
        mergeable = isinstance(value, Mapping) and not _is_secret_ref(value)
        if mergeable and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
