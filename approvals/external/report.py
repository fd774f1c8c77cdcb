"""Reporting an allowed action's outcome: once, with its execution token. An untrusted tool's
result taints the session as the runtime's tool results do (injection/reported.py)."""

from datetime import timedelta
from typing import Any

from django.db import transaction

from agents.services.external import external_tools_trust
from approvals.external.answer import ALLOWED, execution_token_valid, external_action_decision
from approvals.external.spans import result_span_write
from approvals.live import action_request_publish
from approvals.models import ActionRequest, ExternalAction
from core import clock
from core.errors import Conflict, Forbidden
from injection.reported import reported_output_scan, reported_output_taint, reported_span_attributes

Status = ActionRequest.Status
# An hour: the span of one tool call, bounded so a client cannot stretch a trace without end.
MAX_DURATION_MS = 3_600_000


def external_action_report(
    *,
    action: ExternalAction,
    token: str,
    outcome: str,
    result: Any,
    duration_ms: float | None = None,
) -> ExternalAction:
    """Record what the allowed call did. Only the first report counts; a second is a Conflict."""
    if not execution_token_valid(action, token):
        raise Forbidden("the execution token does not belong to this action", field="execution_token")
    if external_action_decision(action) != "allow":
        raise Conflict(
            f"this action was not allowed ({action.request and action.request.status}): nothing ran"
        )
    # Scanned before the transaction (docs/injection.md); a report that loses the race below
    # scanned in vain, and one already known to be second is not scanned at all.
    found = None
    if action.reported_at is None:
        trust = external_tools_trust([action.tool_name])[action.tool_name]
        found = reported_output_scan(
            session_id=action.task.session_id, tool_name=action.tool_name, trust=trust, output=result
        )
    now = clock.now()
    with transaction.atomic():
        # Race: two reports (a retried request, two workers) update on reported_at IS NULL: one wins.
        won = ExternalAction.objects.filter(pk=action.pk, reported_at__isnull=True).update(
            outcome=outcome, result=result, reported_at=now
        )
        if not won:
            raise Conflict("this action's result was already reported", field="execution_token")
        if found is not None:
            reported_output_taint(
                task=action.task,
                tool_name=action.tool_name,
                found=found,
                step_index=action.request.step_index if action.request is not None else None,
            )
        if action.request is not None:
            done = ActionRequest.objects.filter(pk=action.request.pk, status__in=ALLOWED[:2]).update(
                status=Status.EXECUTED if outcome == ExternalAction.Outcome.SUCCESS else Status.FAILED,
                result={"status": outcome, "data": result},
                execution_started_at=now - timedelta(milliseconds=duration_ms or 0),
                executed_at=now,
            )
            if done:
                action_request_publish(request_id=action.request.pk, event="changed")
        action.outcome, action.result, action.reported_at = outcome, result, now
        result_span_write(
            action=action, ended_at=now, duration_ms=duration_ms, attributes=reported_span_attributes(found)
        )
    return action
