"""How many cores this process may use: what the default process counts are sized on."""

import math
import os
from pathlib import Path

# cgroup v2's CPU limit ("max 100000" when none, else "<quota> <period>" in microseconds): what
# Docker's --cpus and a Kubernetes CPU limit set. os.cpu_count() sees the host's cores instead,
# and sizing processes on it would start dozens in a container allowed two.
CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def usable_cores(cpu_max: Path = CGROUP_CPU_MAX) -> int:
    """The cores this process may run on (its CPU affinity), capped by a cgroup CPU limit."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    try:
        quota, period = cpu_max.read_text().split()[:2]
    except (OSError, ValueError):
        return max(cores, 1)
    if quota != "max" and int(period) > 0:
        cores = min(cores, math.ceil(int(quota) / int(period)))
    return max(cores, 1)
