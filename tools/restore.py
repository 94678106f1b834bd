"""Restore PostgreSQL to a point in time or a backup set: deploys/restore.py, checked first.

    python -m tools.restore INVENTORY --host HOST --confirm HOST (--time ISO8601 | --set LABEL)

`make restore` calls it. The request is refused before any host is contacted unless --confirm
repeats --host and exactly one of --time (with its offset) or --set (a label from
`pgbackrest info`) is given.
"""

from __future__ import annotations

import argparse
import sys
import time

from infra.restore import parse_request
from tools.apply import failed_operations, run_pyinfra


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inventory")
    parser.add_argument("--host", required=True, help="the db host whose database is replaced")
    parser.add_argument("--confirm", required=True, help="the same host name again")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--time", help="restore to this time, e.g. 2026-11-22T10:15:00+01:00")
    target.add_argument("--set", help="restore this backup set (pgbackrest info)")
    args = parser.parse_args(argv)
    env = {"AKTIENANALYSE_RESTORE_HOST": args.host, "AKTIENANALYSE_RESTORE_CONFIRM": args.confirm}
    if args.time is not None:
        env["AKTIENANALYSE_RESTORE_TIME"] = args.time
    else:
        env["AKTIENANALYSE_RESTORE_SET"] = args.set
    try:
        parse_request(env)
    except ValueError as exc:
        print(f"Restore refused, no host was contacted: {exc}", file=sys.stderr)
        return 2
    started = time.monotonic()
    payload = run_pyinfra(args.inventory, "deploys/restore.py", env=env)
    failed = failed_operations(payload)
    print(f"restore on {args.host}: {len(failed)} failed, {time.monotonic() - started:.1f}s")
    for host, name in failed:
        print(f"  FAILED  {host}: {name}")
    return 1 if failed or payload["exit_code"] != 0 else 0


if __name__ == "__main__":
    raise SystemExit(main())
