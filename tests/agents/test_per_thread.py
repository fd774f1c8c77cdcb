"""PerThread (core/per_process.py), which keeps the providers' HTTP pools: one instance per
thread, and a fresh one in a forked child."""

import os
import threading

from core.per_process import PerThread


def test_each_thread_gets_its_own_instance_and_keeps_it():
    made: list[object] = []

    def make() -> object:
        made.append(object())
        return made[-1]

    per_thread = PerThread(make)
    mine = per_thread()
    theirs: list[object] = []
    worker = threading.Thread(target=lambda: theirs.extend([per_thread(), per_thread()]))
    worker.start()
    worker.join()

    assert per_thread() is mine
    assert theirs[0] is theirs[1]
    assert theirs[0] is not mine
    assert len(made) == 2


def test_a_forked_child_makes_its_own(monkeypatch):
    per_thread = PerThread(object)
    parents = per_thread()
    monkeypatch.setattr(os, "getpid", lambda: -1)  # as seen from the child after fork()

    assert per_thread() is not parents
