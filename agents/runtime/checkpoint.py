"""The checkpoint: after each step, the task's state, the step and its spans in one transaction."""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F

from agents.models import Step, Task
from agents.runtime.step import StepOutcome
from tracing.recorder import SpanBuffer


class StepAlreadyCommitted(Exception):
    """Another delivery of the same step committed first; this one must stop."""


def checkpoint_write(
    *,
    task: Task,
    outcome: StepOutcome,
    spans: SpanBuffer,
    now: datetime,
    final: dict[str, Any] | None = None,
) -> None:
    """Advance the task past its current step, or fail if another delivery already did.

    The conditional update on (id, step_index, status) is what makes a duplicated or
    redelivered Celery message harmless: only one delivery moves a step forward.
    """
    index = task.step_index
    messages = [*task.messages, *outcome.new_messages]
    usage = outcome.response.usage
    changes: dict[str, Any] = {
        "messages": messages,
        "step_index": index + 1,
        "input_tokens": F("input_tokens") + usage.input_tokens,
        "output_tokens": F("output_tokens") + usage.output_tokens,
        "cached_input_tokens": F("cached_input_tokens") + usage.cached_input_tokens,
        "cost_usd": F("cost_usd") + outcome.cost,
        "tool_calls": F("tool_calls") + len(outcome.tool_results),
        "lease_until": now + timedelta(seconds=settings.TASK_LEASE_S),
    }
    if final:
        changes.update(final, finished_at=now, lease_until=None)
    with transaction.atomic():
        advanced = Task.objects.filter(pk=task.pk, step_index=index, status=Task.Status.RUNNING).update(**changes)
        if not advanced:
            raise StepAlreadyCommitted(f"step {index} of task {task.pk} was committed by another delivery")
        Step.objects.filter(pk=outcome.step.pk).update(
            status=Step.Status.COMPLETED,
            tool_results=[result.as_dict() for result in outcome.tool_results],
            finished_at=now,
        )
        spans.flush()
    task.messages = messages
    task.step_index = index + 1
