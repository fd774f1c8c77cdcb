"""A task a guard parks: it keeps no worker and no lease, and runs again once it can be metered."""

from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction

from agents.guards.decision import Decision
from agents.models import Task
from core import clock
from tracing.events import trace_spans_write
from tracing.recorder import SpanBuffer

if TYPE_CHECKING:
    from agents.runtime.state import RunState


def guard_park(state: "RunState", spans: SpanBuffer, decision: Decision) -> None:
    """Record why, and shorten the lease to GUARD_PARK_S: resume_stalled_tasks (beat)
    re-enqueues a running task whose lease has passed, so the task is tried again then,
    by whichever worker is free, and parks again for as long as the guard says so.

    The parked interval is a wait span up to that retry; a task parked again gets another, so
    the waterfall shows the whole park as consecutive waits."""
    now = clock.now()
    until = now + timedelta(seconds=settings.GUARD_PARK_S)
    spans.add(
        name=f"wait {decision.guard}",
        kind="wait",
        step_index=state.task.step_index,
        started_at=now,
        ended_at=until,
        attributes={"tollgate.wait.reason": decision.guard, "tollgate.guardrail.reason": decision.reason},
    )
    with transaction.atomic():
        Task.objects.filter(pk=state.task.pk, status=Task.Status.RUNNING).update(
            lease_until=until, lease_owner=None
        )
        trace_spans_write(
            spans, task_id=state.task.pk, agent=state.version.agent.name, step_index=state.task.step_index
        )
