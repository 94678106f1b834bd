"""Facts read once per host and run.

pyinfra 3 runs a fact's command again on every `host.get_fact` call (it keeps no cache), so
a deploy asking about forty files sends forty commands. The facts read through `read_once`
describe things the deploys change only through the operations that consulted them (a
directory's files, the accounts): reading them once is enough to decide every operation.

Once deploys/all.py has read a host's snapshot (facts/snapshot.py), built from what every
deploy declares in its `facts()`, `read_once` refuses a fact that was not declared: a new
read cannot be forgotten (it would cost a round trip in every operation step).
"""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

from pyinfra import host
from pyinfra.api import FactBase
from pyinfra.api.host import Host

_READ: WeakKeyDictionary[Host, dict[tuple, Any]] = WeakKeyDictionary()
_DECLARED: WeakKeyDictionary[Host, set[tuple]] = WeakKeyDictionary()


class UndeclaredFact(Exception):
    """A deploy read a fact that no deploy's `facts()` declares."""


def read_once(fact: type[FactBase], **kwargs: Any) -> Any:
    """`host.get_fact(fact, **kwargs)` for the current host, sent once per run (or never,
    when facts/snapshot.py read it already)."""
    read = _read()
    key = fact_key(fact, kwargs)
    declared = _DECLARED.get(_current())
    if declared is not None and key not in declared:
        raise UndeclaredFact(
            f"{host.name}: {fact.__name__}({_arguments(kwargs)}) is read but "
            "not declared: add it to the reading deploy's facts()"
        )
    if key not in read:
        read[key] = host.get_fact(fact, **kwargs)
    return read[key]


def is_read(fact: type[FactBase], **kwargs: Any) -> bool:
    """Whether `read_once` answers this from the snapshot: read there, or declared for it (and
    then read on its own, once, because its section failed)."""
    key = fact_key(fact, kwargs)
    return key in _read() or key in _DECLARED.get(_current(), ())


def remember(fact: type[FactBase], kwargs: dict[str, Any], value: Any) -> None:
    """Keep a fact's value read by other means (facts/snapshot.py) for `read_once`."""
    _read()[fact_key(fact, kwargs)] = value


def declare(facts: list[tuple[type[FactBase], dict[str, Any]]]) -> None:
    """The facts the current host's deploys read (its snapshot): `read_once` refuses others."""
    _DECLARED[_current()] = {fact_key(fact, kwargs) for fact, kwargs in facts}


def _arguments(kwargs: dict[str, Any]) -> str:
    return ", ".join(f"{name}={value!r}" for name, value in sorted(kwargs.items()))


def _current() -> Host:
    return host.state.inventory.get_host(host.name)  # the Host itself, not the proxy


def _read() -> dict[tuple, Any]:
    return _READ.setdefault(_current(), {})


def fact_key(fact: type[FactBase], kwargs: dict[str, Any]) -> tuple:
    """Arguments as a key: a list (e.g. of packages) counts as the tuple of its items."""
    return (fact, tuple(sorted((name, _frozen(value)) for name, value in kwargs.items())))


def _frozen(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_frozen(item) for item in value)
    return value
