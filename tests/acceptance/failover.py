"""What the failover journeys share (test_failover.py, test_redis_failover.py): HAProxy's view
sampled on the lb while they run, the outage measured from a writer's acknowledgements, the
figures written to .lab/logs/, and the converges that must follow a failover."""

from __future__ import annotations

import itertools
import json

from lab.topology import LAB_DIR
from tests.acceptance import lab
from tools.apply import changed_operations, run_pyinfra

LB = lab.names("lb")[0]
# HAProxy's view every 200 ms: the servers of one listener it holds UP.
_SAMPLER = """
end=$(( $(date +%s) + {seconds} )); : > {out}
while [ "$(date +%s)" -lt "$end" ]; do
  up=$(echo 'show stat' | socat stdio /run/haproxy/admin.sock \\
    | awk -F, '$1 == "{listener}" && $2 != "BACKEND" && $18 == "UP" {{print $2}}')
  echo "$(date +%s.%N)" $up >> {out}
  sleep 0.2
done
"""


def start_sampler(listener: str, seconds: int) -> str:
    """Sample `listener`'s UP servers on the lb for `seconds`; returns the samples' file."""
    out = f"/tmp/ha-up-{listener}"
    script = _SAMPLER.format(seconds=seconds, out=out, listener=listener)
    lab.ssh(LB, f"cat > {out}.sh <<'EOF'\n{script}\nEOF")
    lab.ssh(LB, f"nohup sh {out}.sh >/dev/null 2>&1 &")
    return out


def two_up(samples_file: str) -> list[str]:
    """The samples in which HAProxy held more than one server UP."""
    samples = lab.ssh(LB, f"cat {samples_file}").stdout.splitlines()
    return [sample for sample in samples if len(sample.split()) > 2]


def outage(acked: list[list[str]], killed_at: float) -> dict:
    """From the writer's `id time` lines: when writes resumed after the kill (the end of the
    longest pause between two acknowledged writes around it) and how long that pause was."""
    times = [float(at) for _, at in acked if float(at) > killed_at - 2]
    gaps = [(b - a, b) for a, b in itertools.pairwise(times)]
    if not gaps:
        return {"resumed_after_s": None, "longest_pause_s": None}
    pause, resumed = max(gaps)
    return {"resumed_after_s": round(resumed - killed_at, 2), "longest_pause_s": round(pause, 2)}


def record(name: str, result: dict) -> dict:
    (LAB_DIR / "logs").mkdir(exist_ok=True)
    (LAB_DIR / "logs" / f"{name}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result))
    return result


def converge_twice() -> dict:
    """The converge after a failover, and the operations the one after it changes."""
    first = run_pyinfra("inventories/lab.py", capture_stderr=True)
    return {**first, "changed_by_the_next": changed_operations(run_pyinfra("inventories/lab.py"))}
