"""What a run does before it waits on a model, a tool or a backoff sleep.

A worker runs many steps at once on threads (docs/runtime.md); a step spends almost all its
time waiting. Before each wait the lease is checked (and renewed when due), and the thread's
database connection goes back to the process's pool, so PostgreSQL connections are bounded
by the pool, not by the number of steps in flight.
"""

from typing import TYPE_CHECKING

from django.db import connection

if TYPE_CHECKING:
    from agents.runtime.state import RunState


def wait_begin(state: "RunState") -> None:
    """Raises LeaseLost if another run holds the task now: nothing further may start."""
    if state.lease is not None:
        state.lease.ensure()
    db_connection_release()


def db_connection_release() -> None:
    # Inside a transaction the connection is the transaction: it stays with the thread.
    if not connection.in_atomic_block:
        connection.close()
