"""Celery entry points: thin adapters that take ids and call the runtime."""

import uuid
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import close_old_connections
from django.db.models import Q

from agents.models import Task
from agents.runtime.loop import RunOutcome, task_steps_run
from core import clock
from tracing.logs import log_context


@shared_task(name="agents.tasks.run_task", acks_late=True, reject_on_worker_lost=True)
def run_task(task_id: str) -> str:
    close_old_connections()
    with log_context(task_id=task_id):
        outcome = task_steps_run(
            task_id=uuid.UUID(task_id), max_steps=settings.STEPS_PER_RUN, max_seconds=settings.SECONDS_PER_RUN
        )
    if outcome is RunOutcome.YIELDED:
        run_task.delay(task_id)
    return outcome.value


@shared_task(name="agents.tasks.resume_stalled_tasks")
def resume_stalled_tasks() -> int:
    """Re-enqueue tasks whose worker vanished (lease expired) or whose enqueue was lost."""
    now = clock.now()
    stalled = Task.objects.filter(
        Q(status=Task.Status.RUNNING, lease_until__lt=now)
        | Q(status=Task.Status.QUEUED, lease_until__isnull=True, created_at__lt=now - timedelta(seconds=30))
    ).values_list("pk", flat=True)[:500]
    count = 0
    for task_id in stalled:
        run_task.delay(str(task_id))
        count += 1
    return count
