"""What a run does before it waits on a model, a tool or a backoff sleep.

A worker runs many steps at once on threads (docs/runtime.md); a step spends almost all its
time waiting. Before each wait the lease is checked (and renewed when due), and the thread's
database connection goes back to the process's pool, so PostgreSQL connections are bounded
by the pool, not by the number of steps in flight.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from django.db import DEFAULT_DB_ALIAS, connections

from agents.runtime.turns import turn_given_back

if TYPE_CHECKING:
    from agents.runtime.state import RunState


@contextmanager
def waiting(state: "RunState") -> Iterator[None]:
    """Around a wait: raises LeaseLost if another run holds the task now (nothing further may
    start); the run's connection and its CPU turn (agents/runtime/turns.py) are given back for
    the wait, and the turn taken again after it."""
    if state.lease is not None:
        state.lease.ensure()
    db_connection_release()
    with turn_given_back():
        yield


def db_connection_release() -> None:
    # The connection itself, not the `connection` proxy, whose every forwarded attribute first
    # fails a lookup and builds an AttributeError (core/raw_rows.py row_insert): several a step.
    db = connections[DEFAULT_DB_ALIAS]
    # Inside a transaction the connection is the transaction: it stays with the thread.
    if not db.in_atomic_block:
        db.close()
