"""Growing PostgreSQL from one db host to a cluster (topology ha), as `make acceptance` does it:

    AKTIENANALYSE_LAB_EXCLUDE=data-2 python -m tools.apply inventories/lab.py   # one db host
    python -m tests.acceptance.growth                                          # this: a marker
    python -m tools.apply inventories/lab.py                                   # the growth

The marker row and the cluster's system identifier, noted here before the growth, are what
test_ha.py's growth tests look for afterwards (.lab/growth.json).
"""

from __future__ import annotations

import json
import secrets

from lab.topology import LAB_DIR
from tests.acceptance import lab

RECORD = LAB_DIR / "growth.json"
DATABASE = "aktienanalyse_event_store"


def system_identifier(name: str) -> str:
    result = lab.ssh(name, "/usr/lib/postgresql/15/bin/pg_controldata /var/lib/postgresql/15/main")
    line = next(x for x in result.stdout.splitlines() if x.startswith("Database system identifier"))
    return line.split(":", 1)[1].strip()


def main() -> None:
    first = lab.names("db")[0]
    marker = secrets.token_hex(8)
    sql = (
        "CREATE TABLE IF NOT EXISTS growth_marker (marker text); "
        f"INSERT INTO growth_marker VALUES ('{marker}')"
    )
    result = lab.ssh(first, f'runuser -u postgres -- psql -XAtq -d {DATABASE} -c "{sql}"')
    if result.returncode != 0:
        raise SystemExit(f"{first}: the marker was not written: {result.stderr}")
    RECORD.write_text(json.dumps({"marker": marker, "sysid": system_identifier(first)}))
    print(f"growth: marker written on {first}, system identifier noted")


if __name__ == "__main__":
    main()
