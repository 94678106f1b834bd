"""Journeys: the acceptance tests that change the lab, marked `journey`.

`make acceptance` runs the other tests first, in parallel (they only look), then the journeys
one at a time, then converges once more to show the journeys left the lab as deployed. A
journey marked with topologies, `journey("split")`, runs only there: `make test` brings up
every topology, and a journey proves nothing more by running on a second one.

The `ha` topology (two data hosts under Patroni and Sentinel) runs the tests marked `ha`
only: the other suites prove single and split; ha proves the clusters (tests of the cluster
itself skip elsewhere).
"""

from __future__ import annotations

import pytest

from tests.acceptance import lab


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "journey(*topologies): changes the lab, so it runs alone, after the read-only tests; "
        "with topologies, only on those",
    )
    config.addinivalue_line("markers", "ha: runs on the ha topology too")


def pytest_collection_modifyitems(items):
    for item in items:
        if lab.TOPOLOGY == "ha" and item.get_closest_marker("ha") is None:
            item.add_marker(pytest.mark.skip(reason="ha runs its own suite"))
            continue
        marker = item.get_closest_marker("journey")
        if marker and marker.args and lab.TOPOLOGY not in marker.args:
            where = " and ".join(marker.args)
            item.add_marker(pytest.mark.skip(reason=f"a journey run on {where} (make test)"))
