"""At most once: a call to a tool that must not see it twice is never sent twice.

An HTTP call that is not repeatable (a POST, PATCH to a tool that ignores Idempotency-Key;
agents/tools/http.py) is marked in flight, committed, before the request leaves. A delivery
that later finds the mark without an answer (its worker died mid-call) knows the request may
have had its effect: it does not send it again; the call's outcome is unknown until a person
says what happened.
"""

from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, connection, transaction

from agents.models import Tool, ToolDispatch
from agents.tools.http import http_tool_repeatable
from agents.tools.result import ToolResult
from core import clock


class DispatchFound(Exception):
    """Another delivery of this step marked the call first: follow its mark, never send."""

    def __init__(self, dispatch: ToolDispatch) -> None:
        super().__init__(f"tool call already dispatched: {dispatch}")
        self.dispatch = dispatch


def tool_call_at_most_once(tool: Tool) -> bool:
    return tool.kind == Tool.Kind.HTTP and not http_tool_repeatable(tool)


def dispatch_find(*, task_id: Any, step_index: int, call_index: int) -> ToolDispatch | None:
    return ToolDispatch.objects.filter(task_id=task_id, step_index=step_index, call_index=call_index).first()


def dispatch_send(
    *,
    task_id: Any,
    step_index: int,
    call_index: int,
    tool: Tool,
    request: dict[str, Any],
    send: Callable[[], ToolResult],
) -> ToolResult:
    """Mark the call in flight (committed), `send` it once, then store its answer.

    Raises DispatchFound if a mark exists already: the caller replays it instead.
    """
    if connection.in_atomic_block:
        # Inside a transaction the mark would not be durable before the request leaves.
        raise RuntimeError("an at-most-once tool call must not be sent inside a transaction")
    dispatch = ToolDispatch(
        task_id=task_id,
        step_index=step_index,
        call_index=call_index,
        tool_name=tool.name,
        request=request,
        sent_at=clock.now(),
    )
    try:
        with transaction.atomic():
            dispatch.save(force_insert=True)
    except IntegrityError:
        # The unique constraint fired on it, and marks are only deleted with their task.
        found = ToolDispatch.objects.get(task_id=task_id, step_index=step_index, call_index=call_index)
        raise DispatchFound(found) from None
    # Committed: hand the connection back to the pool before waiting on the tool.
    connection.close()
    result = send()
    ToolDispatch.objects.filter(pk=dispatch.pk, status=ToolDispatch.Status.IN_FLIGHT).update(
        status=ToolDispatch.Status.ANSWERED, result=result.as_dict(), answered_at=clock.now()
    )
    return result


def dispatch_answer(dispatch: ToolDispatch) -> ToolResult | None:
    """The stored answer of a call that was sent and answered; None if its outcome is unknown."""
    if dispatch.status != ToolDispatch.Status.ANSWERED or not dispatch.result:
        return None
    return ToolResult.from_dict(dispatch.result)


def dispatch_outcome_unknown(dispatch: ToolDispatch) -> None:
    """In flight with no answer, and its worker gone: the outcome is for a person to record."""
    ToolDispatch.objects.filter(pk=dispatch.pk, status=ToolDispatch.Status.IN_FLIGHT).update(
        status=ToolDispatch.Status.OUTCOME_UNKNOWN
    )
