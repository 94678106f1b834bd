"""Facts read once per host and run.

pyinfra 3 runs a fact's command again on every `host.get_fact` call (it keeps no cache), so
a deploy asking about forty files sends forty commands. The facts read through `read_once`
describe things the deploys change only through the operations that consulted them (a
directory's files, the accounts): reading them once is enough to decide every operation.
"""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

from pyinfra import host
from pyinfra.api import FactBase
from pyinfra.api.host import Host

_READ: WeakKeyDictionary[Host, dict[tuple, Any]] = WeakKeyDictionary()


def read_once(fact: type[FactBase], **kwargs: Any) -> Any:
    """`host.get_fact(fact, **kwargs)` for the current host, sent once per run (or never,
    when facts/snapshot.py read it already)."""
    read = _read()
    key = _key(fact, kwargs)
    if key not in read:
        read[key] = host.get_fact(fact, **kwargs)
    return read[key]


def is_read(fact: type[FactBase], **kwargs: Any) -> bool:
    """Whether `read_once` would answer without contacting the host."""
    return _key(fact, kwargs) in _read()


def remember(fact: type[FactBase], kwargs: dict[str, Any], value: Any) -> None:
    """Keep a fact's value read by other means (facts/snapshot.py) for `read_once`."""
    _read()[_key(fact, kwargs)] = value


def _read() -> dict[tuple, Any]:
    current = host.state.inventory.get_host(host.name)  # the Host itself, not the proxy
    return _READ.setdefault(current, {})


def _key(fact: type[FactBase], kwargs: dict[str, Any]) -> tuple:
    """Arguments as a key: a list (e.g. of packages) counts as the tuple of its items."""
    return (fact, tuple(sorted((name, _frozen(value)) for name, value in kwargs.items())))


def _frozen(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_frozen(item) for item in value)
    return value
