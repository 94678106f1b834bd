"""facts/resources.py on real containers: it sees the container's limits, not the machine's."""

import json
import subprocess
import sys

from tools.apply import REPO


def test_effective_resources_see_the_container_limit():
    result = subprocess.run(
        [sys.executable, "-m", "pyinfra", "inventories/lab.py", "fact",
         "facts.resources.EffectiveResources", "--json"],
        cwd=REPO, capture_output=True, text=True, check=True,
    )  # fmt: skip
    facts = json.loads(result.stdout)
    seen = {host: next(iter(f.values())) for host, f in facts.items()}
    assert {h: (r["memory_bytes"], r["cpus"]) for h, r in seen.items()} == {
        h: (2 * 1024**3, 1) for h in seen
    }
