"""The gate API in the session's trace: the call, its wait for people, and its result."""

from datetime import datetime, timedelta
from typing import Any

from agents.models import Task
from approvals.models import ExternalAction
from tracing.models import Span
from tracing.recorder import SpanBuffer

ACTION_ATTRIBUTE = "tollgate.action.id"


def gate_span_write(
    *, action: ExternalAction, decision: str, started_at: datetime, ended_at: datetime
) -> None:
    gate_span(action=action, decision=decision, started_at=started_at, ended_at=ended_at).flush()


def gate_span(
    *, action: ExternalAction, decision: str, started_at: datetime, ended_at: datetime
) -> SpanBuffer:
    """The gate's span of one call, not yet written."""
    buffer = SpanBuffer(trace_pk=action.task.trace.pk, parent_span_id="")
    buffer.add(
        name=f"gate {action.tool_name}",
        kind=Span.Kind.GUARDRAIL,
        started_at=started_at,
        ended_at=ended_at,
        attributes={**_attributes(action), "tollgate.decision": decision},
        input=action.arguments,
    )
    return buffer


def wait_span_write(*, action: ExternalAction, status: str, decided_at: datetime) -> None:
    _write(
        task=action.task,
        name=f"wait for approval {action.tool_name}",
        kind=Span.Kind.WAIT,
        started_at=action.created_at,
        ended_at=decided_at,
        attributes={**_attributes(action), "tollgate.decision": status},
        error=status not in ("approved",),
    )


def result_span_write(
    *,
    action: ExternalAction,
    ended_at: datetime,
    duration_ms: float | None,
    attributes: dict[str, Any] | None = None,
) -> None:
    """The reported call's tool span; `attributes` adds to it (the result's injection scan)."""
    started_at = ended_at - timedelta(milliseconds=duration_ms or 0)
    _write(
        task=action.task,
        name=f"execute_tool {action.tool_name}",
        kind=Span.Kind.TOOL,
        started_at=started_at,
        ended_at=ended_at,
        attributes={**_attributes(action), "gen_ai.operation.name": "execute_tool", **(attributes or {})},
        error=action.outcome != ExternalAction.Outcome.SUCCESS,
        output=action.result,
    )


def _attributes(action: ExternalAction) -> dict[str, Any]:
    return {
        "gen_ai.tool.name": action.tool_name,
        ACTION_ATTRIBUTE: str(action.id),
        "tollgate.tier": action.tier,
    }


def _write(*, task: Task, error: bool = False, **span: Any) -> None:
    buffer = SpanBuffer(trace_pk=task.trace.pk, parent_span_id="")
    buffer.add(error=error, **span)
    buffer.flush()
