"""Roll services back to their previous kept release (group `app`), health-gated.

    pyinfra inventories/prod.py deploys/rollback.py
    AKTIENANALYSE_ROLLBACK=frontend,event-bus pyinfra inventories/prod.py deploys/rollback.py

"Previous" is the release that was live before the current one (the switch keeps a history in
releases/<service>/.history) and is still kept. Without AKTIENANALYSE_ROLLBACK
every deployed service rolls back. This is the emergency path: afterwards pin the same
version in group_data (`services.<name>.version`), or the next converge of deploys/all.py
switches forward again.
"""

import os

from pyinfra import host, logger

from facts.releases import Releases
from infra.effects import run_with_effect
from infra.hostdata import settings
from infra.operations import switch_release
from infra.services import deployed, previous_release
from infra.settings import SERVICES

if "app" in host.groups:
    own = settings()
    chosen = {name for name in os.environ.get("AKTIENANALYSE_ROLLBACK", "").split(",") if name}
    if chosen - set(SERVICES):
        raise SystemExit(
            f"AKTIENANALYSE_ROLLBACK: unknown service(s) {sorted(chosen - set(SERVICES))}"
        )
    services = [(n, s) for n, s in deployed(own) if not chosen or n in chosen]
    state = host.get_fact(
        Releases,
        base_dir=own.platform.base_dir,
        services=[(name, list(service.ports)) for name, service in services],
    )
    for name, service in host.loop(services):
        entry = state.get(name, {})
        target = previous_release(
            entry.get("live", []), entry.get("installed", []), entry.get("current")
        )
        if target is None:
            logger.warning(f"{host.name}: {name}: no release before {entry.get('current')} kept")
            continue
        run_with_effect(
            "switch",
            switch_release,
            name=f"Roll {name} back from {entry.get('current')} to {target}",
            service=name,
            version=target,
            ports=list(service.ports),
            migrate=False,  # schema changes are forward-only; old releases must cope
            _serial=True,
        )
