"""Celery entry points: thin adapters that take ids and call the runtime."""

import uuid

from celery import shared_task
from celery.worker import state as worker_state
from django.conf import settings
from django.db import close_old_connections

from agents.rollouts.judge import rollouts_judge
from agents.run_queue import BROKER_ERRORS, run_queue_length
from agents.runtime.loop import RunOutcome, task_steps_run
from agents.runtime.waiting import db_connection_release
from agents.services.tasks import task_enqueue, tasks_stalled_resume
from tracing.logs import log_context


@shared_task(name="agents.tasks.run_task", acks_late=True, reject_on_worker_lost=True)
def run_task(task_id: str) -> str:
    close_old_connections()
    try:
        with log_context(task_id=task_id):
            outcome = task_steps_run(
                task_id=uuid.UUID(task_id),
                max_steps=settings.STEPS_PER_RUN,
                max_seconds=settings.SECONDS_PER_RUN,
                others_waiting=runs_waiting,
            )
        if outcome is RunOutcome.YIELDED:
            task_enqueue(task_id=uuid.UUID(task_id))
    finally:
        db_connection_release()  # back to the pool: this thread may now wait for a message
    return outcome.value


def runs_waiting() -> bool:
    """Whether another run waits for a worker thread: a message this worker holds and has not
    started, or one still in the run queue at the broker. Asked by a run past SECONDS_PER_RUN
    (once a step from then on) to decide whether to yield its thread."""
    if len(worker_state.reserved_requests) > len(worker_state.active_requests):
        return True
    try:
        return run_queue_length() > 0
    except BROKER_ERRORS:
        return True  # cannot tell: share the worker, as a run always did


@shared_task(name="agents.tasks.resume_stalled_tasks")
def resume_stalled_tasks() -> int:
    """Re-send tasks whose worker vanished (lease passed) or whose message was lost."""
    try:
        return tasks_stalled_resume()
    finally:
        db_connection_release()


@shared_task(name="agents.tasks.judge_rollouts")
def judge_rollouts() -> list[int]:
    """Roll back the canaries that fail their rollout's thresholds (agents/rollouts/judge.py)."""
    try:
        return rollouts_judge()
    finally:
        db_connection_release()
