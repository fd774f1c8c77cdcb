"""What a caller is told about its action: allow, pending or deny, with the final arguments."""

import uuid
from typing import Any, Literal

from django.utils.crypto import constant_time_compare, salted_hmac

from approvals.gate import critical_result, refusal_result
from approvals.models import ActionRequest, ExternalAction
from core.tiers import RiskTier

Status = ActionRequest.Status
Decision = Literal["allow", "pending", "deny"]
ALLOWED = (Status.APPROVED, Status.EXECUTING, Status.EXECUTED, Status.FAILED)


def external_action_decision(action: ExternalAction) -> Decision:
    request = action.request
    if request is None:
        return "allow"
    if request.tier == RiskTier.CRITICAL:
        return "deny"
    if request.status == Status.PENDING:
        return "pending"
    return "allow" if request.status in ALLOWED else "deny"


def execution_token(action: ExternalAction) -> str:
    """The token that lets its holder report the outcome of exactly this version, once.

    Derived (keyed with SECRET_KEY), not stored: every answer about the action carries the same
    token, so a caller that lost an answer and asks again can still report.
    """
    version = action.request.version if action.request is not None else 0
    return "tgx_" + salted_hmac("tollgate.gate.execution", f"{action.id}:{version}").hexdigest()[:48]


def execution_token_valid(action: ExternalAction, token: str) -> bool:
    return constant_time_compare(execution_token(action), token)


def tool_idempotency_key(action: ExternalAction) -> str:
    """The key the caller sends its tool, the same on every retry of this action."""
    if action.request is not None:
        return action.request.idempotency_key
    return f"tollgate-xa-{action.id}"


def external_action_answer(action: ExternalAction) -> dict[str, Any]:
    request = action.request
    decision = external_action_decision(action)
    arguments = request.arguments if request is not None else action.arguments
    reported = action.reported_at is not None
    return {
        "id": str(action.id),
        "agent": action.task.session.agent.name,
        "session": action.task.session.external_id,
        "tool": action.tool_name,
        "tier": action.tier,
        "decision": decision,
        "status": _status(action),
        "reason": _reason(action, decision),
        "arguments": arguments,
        "edited": request is not None and request.arguments != request.original_arguments,
        "action_request": str(request.id) if request is not None else None,
        "autosend_at": request.autosend_at.isoformat() if request and request.autosend_at else None,
        "expires_at": request.expires_at.isoformat() if request and request.expires_at else None,
        "decided_at": request.decided_at.isoformat() if request and request.decided_at else None,
        "execution_token": execution_token(action) if decision == "allow" and not reported else None,
        "tool_idempotency_key": tool_idempotency_key(action) if decision == "allow" else None,
        "result_reported": reported,
        # What the call did, once reported: a retry of an action that already ran gets this
        # instead of running it again.
        "outcome": action.outcome or None,
        "result": action.result,
        "created_at": action.created_at.isoformat(),
    }


def external_action_load(*, action_id: uuid.UUID) -> ExternalAction | None:
    return (
        ExternalAction.objects.select_related("request__decided_by", "task__session__agent", "task__trace")
        .filter(pk=action_id)
        .first()
    )


def _status(action: ExternalAction) -> str:
    if action.request is not None:
        return str(action.request.status)
    if action.outcome:
        return Status.EXECUTED if action.outcome == ExternalAction.Outcome.SUCCESS else Status.FAILED
    return "allowed"


def _reason(action: ExternalAction, decision: Decision) -> str:
    request = action.request
    if request is None:
        return "low tier: runs at once"
    if decision == "deny":
        result = critical_result(request) if request.tier == RiskTier.CRITICAL else refusal_result(request)
        return result.message
    if decision == "pending":
        if request.autosend_at is not None:
            return "waits for a reviewer; runs by itself at autosend_at unless cancelled"
        return f"waits for {request.approvals_required} reviewer approval(s)"
    if request.decided_by is None:
        return "approved: its delay ended with no reviewer cancelling it"
    return f"approved by {request.decided_by.get_username()}"
