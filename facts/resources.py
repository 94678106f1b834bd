"""EffectiveResources: the memory and CPUs a host may really use.

Inside an LXC container without lxcfs, /proc/meminfo shows the *machine's* memory; the
container's limit is in the cgroup. Order: cgroup v2 `memory.max`, cgroup v1
`memory.limit_in_bytes`, then MemTotal. A cgroup value of "max", or one above MemTotal,
means "no limit" and falls through. CPUs come from `nproc`, which honours cpusets.
"""

from __future__ import annotations

from pyinfra.api import FactBase

SOURCES = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")


def parse(lines: list[str]) -> dict:
    """Turn the fact command's output into {memory_bytes, memory_source, cpus}."""
    values = dict(line.split(" ", 1) for line in lines if " " in line)
    mem_total = int(values["MemTotal:"].split()[0]) * 1024
    memory, source = mem_total, "/proc/meminfo"
    for path in SOURCES:
        raw = values.get(path, "").strip()
        if raw.isdigit() and int(raw) < mem_total:
            memory, source = int(raw), path
            break
    return {"memory_bytes": memory, "memory_source": source, "cpus": int(values["nproc"])}


class EffectiveResources(FactBase):
    """Memory (bytes, cgroup limit first) and CPUs a host may use."""

    def command(self) -> str:
        reads = "; ".join(f'[ -r {p} ] && echo "{p} $(cat {p})"' for p in SOURCES)
        return f'{reads}; grep "^MemTotal:" /proc/meminfo; echo "nproc $(nproc)"'

    def process(self, output: list[str]) -> dict:
        return parse(output)
