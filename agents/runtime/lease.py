"""A task's lease: exactly one run holds a task, and renews its hold while the step runs.

A claim writes a fresh token (`lease_owner`) and a deadline (`lease_until`). Every renewal and
every release is conditional on the token, so a run whose lease passed (its worker stalled and
another one took the task over) can neither extend nor end the new holder's lease.

Renewal happens in two ways:
- one heartbeat thread per process renews all the leases its runs hold every TASK_LEASE_S / 3,
  in one UPDATE, so a single model call longer than the lease keeps it;
- before every model attempt, backoff sleep, summary call and tool call, `Lease.ensure()`
  checks that the last renewal is recent, and renews in the database otherwise. A run whose
  lease is gone raises LeaseLost there, before it starts anything with a side effect.

A worker that dies stops renewing: its tasks are taken over once TASK_LEASE_S has passed and
the stalled-task sweeper (STALLED_SWEEP_S) re-sends them.
"""

import logging
import threading
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection

from agents.models import Task
from core import clock
from core.raw_rows import prepared_cursor

logger = logging.getLogger(__name__)


class LeaseLost(Exception):
    """Another run holds the task now (or it ended): this run must stop without writing."""


def _lease_s() -> timedelta:
    return timedelta(seconds=settings.TASK_LEASE_S)


class Lease:
    def __init__(self, *, task_id: uuid.UUID, token: uuid.UUID, renewed_at: datetime) -> None:
        self.task_id = task_id
        self.token = token
        self.renewed_at = renewed_at
        self.lost = False

    def ensure(self) -> None:
        """Before anything that waits or acts: the lease must be held, and not about to pass."""
        if self.lost:
            raise LeaseLost(f"task {self.task_id}: the lease passed to another run")
        now = clock.now()
        if now - self.renewed_at >= _lease_s() / 3:
            self.renew(now=now)

    def renew(self, *, now: datetime | None = None) -> None:
        now = now or clock.now()
        renewed = Task.objects.filter(
            pk=self.task_id, lease_owner=self.token, status=Task.Status.RUNNING
        ).update(lease_until=now + _lease_s())
        if not renewed:
            self.lost = True
            raise LeaseLost(f"task {self.task_id}: the lease passed to another run")
        self.renewed_at = now


def lease_claim(task_id: uuid.UUID) -> Lease | None:
    """Take the task's lease if it is runnable and nobody holds it; None otherwise."""
    now = clock.now()
    token = uuid.uuid4()
    # Hand-written: the ORM's compilation of this update cost several times its execution,
    # once per run. Conditional, so that of runs racing for one task exactly one claims it.
    with prepared_cursor() as cursor:
        cursor.execute(LEASE_CLAIM, lease_claim_params(task_id, token=token, now=now))
        claimed = cursor.rowcount
    return lease_held(task_id, token=token, now=now) if claimed else None


def lease_claim_params(task_id: uuid.UUID, *, token: uuid.UUID, now: datetime) -> list[Any]:
    """LEASE_CLAIM's parameters, for a claim by `token` at `now`."""
    return [token, now + _lease_s(), now, task_id, _ACTIVE, now]


def lease_held(task_id: uuid.UUID, *, token: uuid.UUID, now: datetime) -> Lease:
    """The lease a claim took (LEASE_CLAIM's, or a statement's that embeds it): renewed from now
    on by the process's heartbeat until lease_forget."""
    lease = Lease(task_id=task_id, token=token, renewed_at=now)
    _held.add(lease)
    _heartbeat_start()
    return lease


_ACTIVE = [status.value for status in Task.ACTIVE_STATUSES]
# The claim: it touches the row only if the task is runnable and its lease free or passed.
LEASE_CLAIM = """
UPDATE agents_task SET
    status = 'running', lease_owner = %s, lease_until = %s, started_at = COALESCE(started_at, %s)
WHERE id = %s AND status = ANY(%s) AND (lease_until IS NULL OR lease_until < %s)
"""


def lease_forget(lease: Lease) -> None:
    """The run ended (however): stop renewing. The row's lease was released by whoever ended it."""
    _held.discard(lease)


class _HeldLeases:
    """The leases this process's runs hold, for the heartbeat (a set guarded by a lock)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._leases: set[Lease] = set()

    def add(self, lease: Lease) -> None:
        with self._lock:
            self._leases.add(lease)

    def discard(self, lease: Lease) -> None:
        with self._lock:
            self._leases.discard(lease)

    def snapshot(self) -> list[Lease]:
        with self._lock:
            return list(self._leases)


_held = _HeldLeases()
_heartbeat_lock = threading.Lock()
_heartbeat: threading.Thread | None = None


def leases_renew_all() -> int:
    """One heartbeat: renew every lease this process holds, in one UPDATE.

    A lease it cannot renew keeps its old `renewed_at`, so the run's next ensure() goes to the
    database and finds out whether it is really lost."""
    leases = _held.snapshot()
    if not leases:
        return 0
    now = clock.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE agents_task SET lease_until = %s "
            "WHERE id = ANY(%s) AND lease_owner = ANY(%s) AND status = 'running' "
            "RETURNING lease_owner",
            [now + _lease_s(), [lease.task_id for lease in leases], [lease.token for lease in leases]],
        )
        renewed = {row[0] for row in cursor.fetchall()}
    for lease in leases:
        if lease.token in renewed:
            lease.renewed_at = max(lease.renewed_at, now)
    return len(renewed)


def _heartbeat_loop() -> None:
    while True:
        time.sleep(settings.TASK_LEASE_S / 3)
        try:
            leases_renew_all()
        except Exception:
            # A database outage: the runs' own ensure() finds out and stops them; keep beating.
            logger.warning("lease heartbeat failed", exc_info=True)
        finally:
            connection.close()  # hand the connection back to the pool between beats


def _heartbeat_start() -> None:
    global _heartbeat
    if _heartbeat is not None and _heartbeat.is_alive():
        return
    with _heartbeat_lock:
        if _heartbeat is None or not _heartbeat.is_alive():
            _heartbeat = threading.Thread(target=_heartbeat_loop, name="lease-heartbeat", daemon=True)
            _heartbeat.start()
