"""A worker process's runs take turns at the CPU: at most RUN_CPU_TURNS work at once.

A process runs a hundred runs on threads, and a step is mostly waiting (docs/runtime.md). When
a burst of runs arrives together (the first steps of a hundred sessions started at once), all
of them want the CPU at the same moment; with one interpreter lock a process, sharing it among
a hundred threads slows every one of them alike, so every session's model call starts as late
as the last one's, and the next wave of steps comes back together again. Taking turns, the
first runs reach their model call after a few milliseconds each, the later ones queue (a
turn given back wakes the longest waiter, though a run arriving just then may take it first),
and the waves spread out instead of colliding (bench/README.md, "concurrency").

A run holds a turn while it works and gives it back whenever it waits on a model, a tool or a
backoff (agents/runtime/waiting.py). The turn is a scheduling aid, not a lock: a run that
waits longer than TURN_WAIT_MAX_S for one goes on without it, so nothing can deadlock on turns
(a holder blocked on a row another waiter locked, say). RUN_CPU_TURNS = 0 turns it off.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from core.per_process import PerProcess

TURN_WAIT_MAX_S = 2.0


class Turns:
    """`size` turns; each thread holds at most one."""

    def __init__(self, size: int, *, wait_max_s: float = TURN_WAIT_MAX_S) -> None:
        self._slots = threading.Semaphore(size)
        self._held = threading.local()
        self.wait_max_s = wait_max_s

    def holds(self) -> bool:
        return getattr(self._held, "turn", False)

    def take(self) -> None:
        """Wait for a turn (at most `wait_max_s`), unless this thread holds one."""
        if not self.holds() and self._slots.acquire(timeout=self.wait_max_s):
            self._held.turn = True

    def give(self) -> None:
        """Give this thread's turn back, if it holds one."""
        if self.holds():
            self._held.turn = False
            self._slots.release()


def _turns() -> Turns | None:
    return Turns(settings.RUN_CPU_TURNS) if settings.RUN_CPU_TURNS > 0 else None


process_turns = PerProcess(_turns)


@contextmanager
def turn_given_back() -> Iterator[None]:
    """Around a wait: a run's turn is given back for the wait and taken again after it. A thread
    that holds none (not a run: an API request's thread, say) neither gives nor takes one."""
    turns = process_turns()
    if turns is None or not turns.holds():
        yield
        return
    turns.give()
    try:
        yield
    finally:
        turns.take()


@contextmanager
def run_turn() -> Iterator[None]:
    """A run's turn from its start to its end (given back and taken again around its waits)."""
    turns = process_turns()
    if turns is None:
        yield
        return
    turns.take()
    try:
        yield
    finally:
        turns.give()
