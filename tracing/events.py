"""What happens once a step's spans (or a task's end) have committed: live pushes and metrics.

The runtime calls these through `transaction.on_commit(..., robust=True)`, once per step, so
a browser never hears of spans it cannot read yet, and a failure here (Redis down, say) is
logged by Django and never fails the task.
"""

import uuid
from collections.abc import Sequence

from core.transactions import after_commit
from tracing import metrics
from tracing.export.otlp import otlp_enabled
from tracing.live import trace_spans_added_publish
from tracing.models import Span
from tracing.recorder import SpanBuffer


def trace_step_committed(
    *,
    task_id: uuid.UUID,
    agent: str,
    step_index: int | None,
    spans: Sequence[Span],
    step_seconds: float | None,
) -> None:
    metrics.metrics_step_record(agent=agent, spans=spans, step_seconds=step_seconds)
    trace_spans_added_publish(task_id=task_id, step_index=step_index, finished=False)


def trace_spans_write(spans: SpanBuffer, *, task_id: uuid.UUID, agent: str, step_index: int | None) -> None:
    """Write spans outside a step's checkpoint (a park, a task's end); watchers and metrics
    hear of them once the enclosing transaction commits (at once outside one)."""
    written = spans.spans
    spans.flush()
    after_commit(
        trace_step_committed,
        task_id=task_id,
        agent=agent,
        step_index=step_index,
        spans=written,
        step_seconds=None,
    )


def trace_task_finished(*, task_id: uuid.UUID, agent: str, status: str, task_seconds: float) -> None:
    metrics.metrics_task_record(agent=agent, status=status, task_seconds=task_seconds)
    trace_spans_added_publish(task_id=task_id, step_index=None, finished=True)
    if otlp_enabled():
        from tracing.tasks import trace_export

        trace_export.delay(str(task_id))
