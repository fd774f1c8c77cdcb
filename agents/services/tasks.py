"""Submitting and cancelling tasks."""

import hashlib
import json
import logging
import uuid
from contextlib import nullcontext
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q

from agents.models import Agent, Session, Task
from agents.run_queue import BROKER_ERRORS
from agents.runtime.playback import playback_validate
from agents.services.sessions import session_create
from core import clock
from core.errors import Conflict, Invalid, NotFound
from tracing.ids import new_trace_id
from tracing.models import Trace

logger = logging.getLogger(__name__)


def task_enqueue(*, task_id: uuid.UUID) -> None:
    """Send a run of the task to the workers, and record when (for the stalled-task sweeper)."""
    tasks_enqueue([task_id])


def tasks_enqueue(task_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """Send a run of each task that exists, after recording when in one statement; returns those
    the broker took.

    Tasks created and rolled back (a savepoint of the creating transaction) have no row, so
    they are not sent.
    """
    now = clock.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE agents_task SET enqueued_at = %s WHERE id = ANY(%s) RETURNING id",
            [now, task_ids],
        )
        existing = {row[0] for row in cursor.fetchall()}
    in_order = [task_id for task_id in task_ids if task_id in existing]
    return _runs_send(in_order, enqueued_at=now)


def _runs_send(task_ids: list[uuid.UUID], *, enqueued_at: datetime) -> list[uuid.UUID]:
    """Send a run of each task, marked sent at `enqueued_at`; returns those the broker took.

    A broker that is down or stalled (BROKER_SOCKET_TIMEOUT_S) fails the send, and the caller
    goes on: a submission is not refused, a worker's run ends as it would. The tasks stay in the
    database, and their mark is cleared so that the stalled-task sweeper sends them at its next
    pass rather than after CELERY_VISIBILITY_TIMEOUT_S. (A run the broker took without saying so
    in time is then sent twice; the second finds the task claimed or moved on, as any duplicate.)"""
    # agents.tasks imports the runtime, which imports this module's neighbours: import late.
    from agents.tasks import run_task

    sent: list[uuid.UUID] = []
    batched = len(task_ids) > 1
    try:
        # One producer (and broker connection) for the whole batch, and its messages written in
        # pipelined round trips (kombu's publish batch): 200 runs are sent in ~70 ms instead of
        # ~300 (bench/README.md, "concurrency").
        with run_task.app.producer_or_acquire() as producer, producer.batch() if batched else nullcontext():
            for task_id in task_ids:
                run_task.apply_async(args=[str(task_id)], producer=producer)
                sent.append(task_id)
    except BROKER_ERRORS as exc:
        if batched:
            # A batch is written when it ends, without retries: when that fails, which of its
            # runs the broker took is unknown, so the sweeper gets them all.
            sent = []
        unsent = task_ids[len(sent) :]
        logger.warning(
            "the broker took %d of %d runs (%s); the stalled-task sweeper sends the rest",
            len(sent),
            len(task_ids),
            exc,
        )
        # Only a mark this send made: a sweep may have marked (and sent) a task since.
        Task.objects.filter(pk__in=unsent, enqueued_at=enqueued_at).update(enqueued_at=None)
    return sent


class _RunsOnCommit:
    """The runs one transaction sends when it commits: recorded in one statement, not one
    autocommitted UPDATE (a WAL flush each) per task, so that a transaction creating hundreds
    of tasks (an eval run, a batch submission) sends the last run milliseconds after the first."""

    def __init__(self) -> None:
        self.task_ids: list[uuid.UUID] = []

    def __call__(self) -> None:
        tasks_enqueue(self.task_ids)


def _enqueue_on_commit(task_id: uuid.UUID) -> None:
    """Send the task's run once the current transaction commits (at once outside one)."""
    db = transaction.get_connection()
    if db.in_atomic_block:
        # Join the batch this transaction already sends, if its callback is still pending (a
        # rolled-back savepoint drops the callback, and with it the batch).
        for _savepoints, callback, _robust in reversed(db.run_on_commit):
            if isinstance(callback, _RunsOnCommit):
                callback.task_ids.append(task_id)
                return
    batch = _RunsOnCommit()
    batch.task_ids.append(task_id)
    transaction.on_commit(batch)


def tasks_stalled_resume(*, limit: int = 500) -> int:
    """Re-send runs whose message can have been lost; returns how many were sent.

    - running, its lease passed (its worker died, or a guard parked it, or its run failed and
      waits out a backoff), and not sent since the lease passed;
    - queued and never claimed, its message older than the broker's visibility timeout (by
      then the broker has redelivered any message it still has).
    Rows are locked (SKIP LOCKED) and marked before sending: a task is sent at most once per
    sweep, and a sweep never re-sends a backlog of queued tasks that are merely waiting.
    """
    now = clock.now()
    lost_after = now - timedelta(seconds=settings.CELERY_VISIBILITY_TIMEOUT_S)
    stalled = Q(status=Task.Status.RUNNING, lease_until__lt=now) & (
        Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=F("lease_until")) | Q(enqueued_at__lt=lost_after)
    )
    lost = Q(status=Task.Status.QUEUED, lease_until__isnull=True) & (
        Q(enqueued_at__lt=lost_after)
        | Q(enqueued_at__isnull=True, created_at__lt=now - timedelta(seconds=30))
    )
    with transaction.atomic():
        ids = list(
            Task.objects.filter(stalled | lost)
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:limit]
        )
        Task.objects.filter(pk__in=ids).update(enqueued_at=now)
    return len(_runs_send(ids, enqueued_at=now))


def task_resume(*, task_id: uuid.UUID) -> bool:
    """waiting_approval → queued once people decided; a worker picks it up after commit.

    A conditional update: a task cancelled meanwhile (or resumed by a second decision) stays as it is.
    """
    resumed = Task.objects.filter(pk=task_id, status=Task.Status.WAITING_APPROVAL).update(
        status=Task.Status.QUEUED, lease_until=None, lease_owner=None
    )
    if resumed:
        _enqueue_on_commit(task_id)
    return bool(resumed)


def task_submit(
    *,
    owner: User,
    agent_name: str,
    input: str,
    session_id: uuid.UUID | None = None,
    end_user: str = "",
    idempotency_key: str | None = None,
) -> tuple[Task, bool]:
    """Create a task and enqueue its run once the transaction commits.

    Returns (task, created). The same (owner, idempotency_key) with the same request always
    returns the first task; with another request (agent, input, session or end user) it is a
    Conflict naming the key. The unique constraint decides a race between two submissions.
    """
    fingerprint = _request_fingerprint(
        agent_name=agent_name, input=input, session_id=session_id, end_user=end_user
    )
    if idempotency_key is not None:
        existing = Task.objects.filter(owner=owner, idempotency_key=idempotency_key).first()
        if existing is not None:
            return _replayed(existing, key=idempotency_key, fingerprint=fingerprint), False
    if not input.strip():
        raise Invalid("input must not be empty", field="input")
    agent = Agent.objects.select_related("current_version").filter(name=agent_name).first()
    if agent is None or agent.current_version is None:
        raise NotFound(f"no agent named {agent_name!r}; create it with POST /api/v1/agents", field="agent")
    try:
        with transaction.atomic():
            session = _session_for(owner=owner, agent=agent, session_id=session_id, end_user=end_user)
            task = _task_create_enqueued(
                session=session,
                owner=owner,
                input=input,
                idempotency_key=idempotency_key,
                idempotency_fingerprint=fingerprint if idempotency_key is not None else "",
            )
    except IntegrityError:
        if idempotency_key is None:
            raise
        # Another submission with this key committed first: its task, if it was this request.
        winner = Task.objects.get(owner=owner, idempotency_key=idempotency_key)
        return _replayed(winner, key=idempotency_key, fingerprint=fingerprint), False
    return task, True


def task_create(*, session: Session, owner: User, input: str, playback: dict[str, Any] | None = None) -> Task:
    """A task the platform makes itself in a given session, of whatever version the session
    is pinned to (an eval case, a replay, an undo), run once the transaction commits.
    `playback` is a recording to serve instead of the model or the tools (validated)."""
    if not input.strip():
        raise Invalid("input must not be empty", field="input")
    recording = playback_validate(playback) if playback is not None else {}
    with transaction.atomic():
        return _task_create_enqueued(session=session, owner=owner, input=input, playback=recording)


def _task_create_enqueued(**fields: Any) -> Task:
    """Create the task and its trace; its run is sent once the caller's transaction commits."""
    task = Task.objects.create(**fields)
    Trace.objects.create(task=task, trace_id=new_trace_id())
    _enqueue_on_commit(task.id)
    return task


def _request_fingerprint(*, agent_name: str, input: str, session_id: uuid.UUID | None, end_user: str) -> str:
    request = {
        "agent": agent_name,
        "input": input,
        "session": str(session_id) if session_id else None,
        "user": end_user,
    }
    return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()


def _replayed(task: Task, *, key: str, fingerprint: str) -> Task:
    if task.idempotency_fingerprint and task.idempotency_fingerprint != fingerprint:
        raise Conflict(
            f"idempotency key {key!r} was already used for a different request (agent, input, "
            f"session or user): task {task.id}; send a new key for a new request",
            field="idempotency_key",
        )
    return task


def _session_for(*, owner: User, agent: Agent, session_id: uuid.UUID | None, end_user: str) -> Session:
    if session_id is None:
        return session_create(agent=agent, owner=owner, end_user=end_user)
    session = Session.objects.filter(id=session_id, owner=owner).first()
    if session is None:
        raise NotFound(f"no session {session_id} of yours", field="session")
    if session.agent_id != agent.id:
        raise Invalid(
            f"session {session_id} belongs to agent {session.agent.name!r}, not {agent.name!r}",
            field="session",
        )
    return session


def task_cancel(*, task: Task, actor: User) -> Task:
    """Stop a task at its next step boundary (at once if it is not running now).

    A queued or waiting task is cancelled here; a running one is flagged and its worker
    stops at the next step boundary. Both are conditional updates, so a task that ends
    meanwhile is never turned back into "cancelled".
    """
    now = clock.now()
    idle = (Task.Status.QUEUED, Task.Status.WAITING_APPROVAL)
    stopped = Task.objects.filter(pk=task.pk, status__in=idle).update(
        status=Task.Status.CANCELLED,
        stop_reason="cancelled",
        stop_detail=f"cancelled by {actor.get_username()}",
        cancel_requested=True,
        finished_at=now,
    )
    if not stopped:
        flagged = Task.objects.filter(pk=task.pk, status=Task.Status.RUNNING).update(cancel_requested=True)
        if not flagged:
            task.refresh_from_db()
            raise Conflict(f"task {task.id} has already ended ({task.status}); nothing to cancel")
    task.refresh_from_db()
    return task
