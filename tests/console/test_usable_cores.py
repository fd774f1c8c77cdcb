"""The default process counts (WEB_CONCURRENCY, WORKER_PROCESSES) follow the cores this process
may use: its CPU affinity, capped by a cgroup CPU limit (a container's --cpus)."""

import os

from core.cores import usable_cores


def test_without_a_cgroup_limit_it_is_the_cpu_affinity(tmp_path):
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text("max 100000\n")

    assert usable_cores(cpu_max) == len(os.sched_getaffinity(0))
    assert usable_cores(tmp_path / "missing") == len(os.sched_getaffinity(0))


def test_a_cgroup_limit_caps_it_rounded_up(tmp_path):
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text("50000 100000\n")  # half a core
    assert usable_cores(cpu_max) == 1

    cpu_max.write_text("150000 100000\n")  # a core and a half
    assert usable_cores(cpu_max) == min(2, len(os.sched_getaffinity(0)))


def test_an_unreadable_limit_is_ignored(tmp_path):
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text("garbage\n")

    assert usable_cores(cpu_max) == len(os.sched_getaffinity(0))
