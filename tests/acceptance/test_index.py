"""Wheels from a package index instead of an uploaded wheelhouse (releases.index_url).

The control machine serves the fixture wheelhouse as a PEP 503 simple index on the lab's
bridge address; frontend 1.1.0 is removed from the app hosts and installed from it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

from infra.settings import SERVICES
from lab.topology import LAB_DIR
from tests.acceptance import lab
from tools.apply import run_pyinfra

pytestmark = pytest.mark.journey("single")

APP_HOSTS = lab.names("app")
WHEELHOUSE = LAB_DIR / "wheelhouse"
FRONTEND_WHEEL = "aktienanalyse_frontend-1.1.0-py3-none-any.whl"


def simple_index() -> str:
    """A PEP 503 layout (simple/<project>/<wheel>) of the fixture wheelhouse; its root."""
    root = LAB_DIR / "index"
    shutil.rmtree(root, ignore_errors=True)
    for wheel in WHEELHOUSE.glob("*.whl"):
        project = root / "simple" / canonicalize_name(parse_wheel_filename(wheel.name)[0])
        project.mkdir(parents=True, exist_ok=True)
        (project / wheel.name).symlink_to(wheel)
    return str(root)


def pins(service: str, version: str) -> dict[str, str]:
    """sha256 of the service's own wheel and of every third-party wheel in the wheelhouse."""
    own = canonicalize_name(f"aktienanalyse-{service}")
    return {
        wheel.name: hashlib.sha256(wheel.read_bytes()).hexdigest()
        for wheel in WHEELHOUSE.glob("*.whl")
        if (parse_wheel_filename(wheel.name)[:2] == (own, Version(version)))
        or not wheel.name.startswith("aktienanalyse_")
    }


@pytest.fixture(scope="module")
def installed_from_index():
    requested: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, format, *args):
            requested.append(self.path)

    server = ThreadingHTTPServer(
        (lab.MANIFEST["bridge"]["address"], 0), partial(Handler, directory=simple_index())
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://{lab.MANIFEST['bridge']['address']}:{server.server_port}/simple/"
    for host in APP_HOSTS:
        lab.ssh(host, "rm -rf /opt/aktienanalyse/releases/frontend/1.1.0 "
                      f"/opt/aktienanalyse/wheelhouse/{FRONTEND_WHEEL}")  # fmt: skip
    # Plain http: every wheel must be hash-pinned (infra/settings/releases.py refuses it otherwise).
    versions = {name: "1.1.0" if name == "frontend" else "1.0.0" for name in SERVICES}
    wanted = {
        "releases": {"wheelhouse": None, "index_url": url},
        "services": {
            name: {"version": version, "sha256": pins(name, version)}
            for name, version in versions.items()
        },
    }
    payload = run_pyinfra(
        "inventories/lab.py", "deploys/all.py", ("--limit", "app"),
        {"AKTIENANALYSE_LAB_SETTINGS": json.dumps(wanted)}, capture_stderr=True,
    )  # fmt: skip
    served = {
        host: lab.ssh(host, "curl -fsS --max-time 5 http://127.0.0.1:8005/health").stdout
        for host in APP_HOSTS
    }
    server.shutdown()
    yield {"payload": payload, "requested": requested, "served": served}
    run_pyinfra("inventories/lab.py", "deploys/all.py", ("--limit", "app"))


def test_install_from_the_index_succeeds(installed_from_index):
    assert installed_from_index["payload"]["exit_code"] == 0


def test_the_wheel_came_from_the_index(installed_from_index):
    assert f"/simple/aktienanalyse-frontend/{FRONTEND_WHEEL}" in installed_from_index["requested"]


def test_the_release_from_the_index_serves(installed_from_index):
    served = installed_from_index["served"].values()
    assert all(json.loads(body)["version"] == "1.1.0" for body in served)
