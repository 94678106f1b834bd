"""What an operation does beyond writing: restart, reload or switch, recorded for the plan.

When AKTIENANALYSE_PLAN_RECORD names a file (tools/plan.py sets it for its dry run), the
project's operations append JSON lines to it: each file change with its diff
(infra/operations.py) and each effect with its reasons (here), under the exact name the
operation runs as. The plan reads these records, never an operation's name. The effects also
go to AKTIENANALYSE_APPLY_RECORD (tools/apply.py), whose summary explains a failed switch.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

from pyinfra import host
from pyinfra.api.operation import OperationMeta
from pyinfra.operations import systemd

PLAN_RECORD = "AKTIENANALYSE_PLAN_RECORD"
APPLY_RECORD = "AKTIENANALYSE_APPLY_RECORD"


def record_for_plan(records: Iterable[str] = (PLAN_RECORD,), **entry: Any) -> None:
    """Append one entry (a file's diff, an effect) to each record kept (`records`: the
    variables naming their files)."""
    for path in filter(None, (os.environ.get(variable) for variable in records)):
        with open(path, "a") as file:
            file.write(json.dumps({"host": host.name, **entry}) + "\n")


def runs_as(full_name: str, operation: str) -> bool:
    """Whether pyinfra's name of an operation is the one a record names: pyinfra prefixes an
    operation's name with its deploy's ("HAProxy | Reload HAProxy")."""
    return full_name == operation or full_name.endswith(f" | {operation}")


EFFECTS = ("restart", "reload", "switch")
_SERVICE_FLAG = {"restart": "restarted", "reload": "reloaded"}  # systemd.service's argument


def run_with_effect(
    effect: str,
    operation,
    because: Iterable[str] = (),
    details: Mapping[str, Any] | None = None,
    **kwargs,
) -> OperationMeta:
    """Call `operation` (``name=`` in ``kwargs``) and record for the plan that it restarts,
    reloads or switches, and because of what: the one place an effect is recorded. The call
    must agree: systemd.service with restarted=/reloaded=True; only switch_release switches.
    ``details`` go into the record (a switch: service, version, and the previous release)."""
    if effect not in EFFECTS:
        raise ValueError(f"effect {effect!r} is not one of {', '.join(EFFECTS)}")
    flag = _SERVICE_FLAG.get(effect)
    if (operation is systemd.service and not (flag and kwargs.get(flag))) or (
        (operation is _switch_release()) != (effect == "switch")
    ):
        what = getattr(operation, "__name__", operation)
        raise ValueError(f"{kwargs['name']}: {what} with these arguments does not {effect}")
    record_for_plan(
        (PLAN_RECORD, APPLY_RECORD),
        kind="effect",
        operation=kwargs["name"],
        effect=effect,
        because=list(because),
        **(details or {}),
    )
    return operation(**kwargs)


def restart_service(
    name: str, service: str, because: Iterable[str] = (), **kwargs
) -> OperationMeta:
    """systemd.service restarting ``service``, recorded for the plan as a restart."""
    return run_with_effect(
        "restart", systemd.service, because, name=name, service=service, restarted=True, **kwargs
    )


def run_if_changed(
    watched: Mapping[str, OperationMeta | None],
    operation,
    effect: str,
    needed: bool = False,
    **kwargs,
) -> OperationMeta | None:
    """Call `operation` only when one of `watched` (reason -> operation) will change this host,
    e.g. a reload after its configuration changed, or in any case when `needed`; ``effect``:
    restart, reload or switch (`run_with_effect`).

    pyinfra knows whether an operation will change a host once it has been prepared
    (OperationMeta.will_change; None stands for an operation not called), so the decision is
    made here, before anything runs, and a dry
    run lists the reload as a plain change. Called inside a loop, use `host.loop()` so every
    host gives the operation the same identity whether or not it calls it.
    """
    because = [reason for reason, meta in watched.items() if meta and meta.will_change]
    if not (needed or because):
        return None
    return run_with_effect(effect, operation, because, **kwargs)


def reload_if_changed(
    watched: Mapping[str, OperationMeta | None], name: str, service: str, **kwargs
) -> OperationMeta | None:
    """Reload `service` (systemd) when one of `watched` will change: `run_if_changed`."""
    return run_if_changed(
        watched, systemd.service, "reload", name=name, service=service, reloaded=True, **kwargs
    )


def restart_if_changed(
    watched: Mapping[str, OperationMeta | None], name: str, service: str, **kwargs
) -> OperationMeta | None:
    """Restart `service` (systemd) when one of `watched` will change: `run_if_changed`."""
    return run_if_changed(
        watched, systemd.service, "restart", name=name, service=service, restarted=True, **kwargs
    )


_recording_failures = False


def record_failures() -> None:
    """With AKTIENANALYSE_APPLY_RECORD set, record each operation that fails on a host, by its
    names, through pyinfra's state callbacks: pyinfra prints no results when every host has
    failed, and tools/apply.py's summary still names the operation."""
    global _recording_failures
    path = os.environ.get(APPLY_RECORD)
    if not path or _recording_failures:
        return
    from pyinfra import state
    from pyinfra.api.state import BaseStateCallback

    class RecordFailures(BaseStateCallback):
        @staticmethod
        def operation_host_error(state, host, operation, *retries) -> None:
            names = sorted(state.get_op_meta(operation).names)
            with open(path, "a") as file:
                file.write(json.dumps({"host": host.name, "kind": "failed", "names": names}) + "\n")

    state.add_callback_handler(RecordFailures())
    _recording_failures = True


def _switch_release():
    from infra.operations import switch_release  # it records its switches through here

    return switch_release
