"""Reads behind the queue page, the socket and the REST API."""

import uuid
from datetime import datetime, timedelta
from statistics import quantiles
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from agents.selectors import REVIEWERS_GROUP, user_is_admin
from approvals.models import ActionRequest, ActionVote
from core import clock


def user_reviewer_groups(*, user: AbstractUser) -> list[str] | None:
    """The reviewer groups `user` decides in; None means all (an admin); [] means none."""
    if not user.is_active or not user.is_authenticated:
        return []
    if user_is_admin(user=user):
        return None
    return list(user.groups.values_list("name", flat=True))


def user_may_review(*, user: AbstractUser, reviewer_group: str) -> bool:
    groups = user_reviewer_groups(user=user)
    return groups is None or reviewer_group in groups


def user_may_open_queue(*, user: AbstractUser) -> bool:
    """Admins, members of "reviewers", and members of a group some rule routes requests to."""
    from approvals.models import PolicyRule

    groups = user_reviewer_groups(user=user)
    if groups is None:
        return True
    if not groups:
        return False
    return REVIEWERS_GROUP in groups or PolicyRule.objects.filter(reviewer_group__in=groups).exists()


def action_requests_visible(*, user: AbstractUser, status: str | None = None) -> QuerySet[ActionRequest]:
    """The requests `user` may review, unordered: a page (core.pagination) puts them in order."""
    requests = ActionRequest.objects.select_related("task")
    groups = user_reviewer_groups(user=user)
    if groups is not None:
        requests = requests.filter(reviewer_group__in=groups)
    if status:
        requests = requests.filter(status=status)
    return requests


def with_approval_counts(requests: QuerySet[ActionRequest]) -> QuerySet[ActionRequest]:
    """Each request's approvals of its current version counted in the list's own query, so a
    page of 50 is one query rather than 51 (action_request_as_dict uses the count)."""
    votes = (
        ActionVote.objects.filter(request=OuterRef("pk"), version=OuterRef("version"))
        .order_by()
        .values("request")
        .annotate(total=Count("*"))
        .values("total")
    )
    return requests.annotate(approval_count=Coalesce(Subquery(votes), 0))


def action_request_as_dict(request: ActionRequest) -> dict[str, Any]:
    counted = getattr(request, "approval_count", None)
    return {
        "id": str(request.id),
        "task": str(request.task_id),
        "step_index": request.step_index,
        "call_index": request.call_index,
        "tool": request.tool_name,
        "agent": request.agent_name,
        "arguments": request.arguments,
        "original_arguments": request.original_arguments,
        "reasoning": request.reasoning,
        "version": request.version,
        "tier": request.tier,
        "status": request.status,
        "rule": request.rule_id,
        "policy_errors": (request.rule_snapshot or {}).get("condition_errors", []),
        "policy_version": request.policy_version,
        "taint": request.taint,
        "hash": request.request_hash,
        "approvals_required": request.approvals_required,
        "approvals": counted
        if counted is not None
        else request.votes.filter(version=request.version).count(),
        "reviewer_group": request.reviewer_group,
        "autosend_at": request.autosend_at.isoformat() if request.autosend_at else None,
        "expires_at": request.expires_at.isoformat() if request.expires_at else None,
        "escalated": request.escalated_at is not None,
        "decided_by": request.decided_by.get_username() if request.decided_by else None,
        "decision_comment": request.decision_comment,
        "result": request.result,
        "sent_request": request.sent_request,
        "outcome_by": request.outcome_by.get_username() if request.outcome_by else None,
        "outcome_note": request.outcome_note,
        "created_at": request.created_at.isoformat(),
        "decided_at": _iso(request.decided_at),
        "execution_started_at": _iso(request.execution_started_at),
        "executed_at": _iso(request.executed_at),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def action_request_payload(*, request_id: uuid.UUID) -> dict[str, Any] | None:
    request = ActionRequest.objects.select_related("decided_by", "outcome_by").filter(pk=request_id).first()
    return action_request_as_dict(request) if request is not None else None


def action_request_context(*, request: ActionRequest) -> dict[str, Any]:
    """What led to the call: the task's input and its recent steps' model text and tool calls."""
    from agents.models import Step

    steps = Step.objects.filter(task_id=request.task_id).order_by("-index")[:5]
    return {
        "input": request.task.input,
        "steps": [
            {
                "index": step.index,
                "content": (step.response or {}).get("content") or "",
                "tool_calls": [call.get("name") for call in (step.response or {}).get("tool_calls", [])],
            }
            for step in reversed(list(steps))
        ],
    }


def approval_metrics(*, days: int = 7) -> dict[str, dict[str, Any]]:
    """Per tier: time to decision p50/p95 (seconds), expiries, auto-executions, cancel rate."""
    since = clock.now() - timedelta(days=days)
    rows = ActionRequest.objects.filter(created_at__gte=since).values(
        "tier", "status", "created_at", "decided_at", "decided_by_id", "decision_comment"
    )
    tiers: dict[str, dict[str, Any]] = {}
    waits: dict[str, list[float]] = {}
    for row in rows:
        tier = tiers.setdefault(
            row["tier"], {"requests": 0, "expired": 0, "auto_executed": 0, "cancelled": 0}
        )
        tier["requests"] += 1
        if row["status"] == ActionRequest.Status.EXPIRED:
            tier["expired"] += 1
        if row["status"] == ActionRequest.Status.CANCELLED:
            tier["cancelled"] += 1
        if row["decided_at"] and row["decided_by_id"] is None and row["decision_comment"] == AUTO_SEND_NOTE:
            tier["auto_executed"] += 1
        if row["decided_at"] and row["decided_by_id"] is not None:
            waits.setdefault(row["tier"], []).append((row["decided_at"] - row["created_at"]).total_seconds())
    for name, tier in tiers.items():
        samples = sorted(waits.get(name, []))
        tier["decision_p50_s"] = _percentile(samples, 50)
        tier["decision_p95_s"] = _percentile(samples, 95)
        tier["cancel_rate"] = round(tier["cancelled"] / tier["requests"], 3) if tier["requests"] else 0.0
    return dict(sorted(tiers.items()))


AUTO_SEND_NOTE = "sent automatically when its delay ended"


def _percentile(samples: list[float], p: int) -> float | None:
    if not samples:
        return None
    if len(samples) == 1:
        return round(samples[0], 3)
    return round(quantiles(samples, n=100, method="inclusive")[p - 1], 3)
