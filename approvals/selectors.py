"""Reads behind the queue page, the socket and the REST API."""

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.cache import cache
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Extract

from agents.selectors import REVIEWERS_GROUP, user_is_admin
from approvals.models import ActionRequest, ActionVote
from core import clock
from core.aggregates import PercentileCont


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
    # No join to the task: a listed request shows only its id, and a task row carries its whole
    # conversation (`messages`), which a page of a queue would read for nothing.
    requests = with_approval_count(ActionRequest.objects.all())
    groups = user_reviewer_groups(user=user)
    if groups is not None:
        requests = requests.filter(reviewer_group__in=groups)
    if status:
        requests = requests.filter(status=status)
    return requests


def with_approval_count(requests: QuerySet[ActionRequest]) -> QuerySet[ActionRequest]:
    """Each request's approvals of its current version, counted in the same query (`approval_count`)
    instead of one query a row."""
    votes = (
        ActionVote.objects.filter(request=OuterRef("pk"), version=OuterRef("version"))
        .order_by()
        .values("request")
        .annotate(count=Count("id"))
        .values("count")
    )
    return requests.annotate(approval_count=Coalesce(Subquery(votes), 0))


def action_request_as_dict(request: ActionRequest) -> dict[str, Any]:
    approvals = getattr(request, "approval_count", None)
    if approvals is None:
        approvals = request.votes.filter(version=request.version).count()
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
        "approvals": approvals,
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
    # Both people it names are joined, as in the REST list: this runs for every pushed event.
    requests = with_approval_count(ActionRequest.objects.select_related("decided_by", "outcome_by"))
    request = requests.filter(pk=request_id).first()
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
    """Per tier: time to decision p50/p95 (seconds), expiries, auto-executions, cancel rate.

    One aggregate query; the queue page reads it through approval_metrics_cached."""
    since = clock.now() - timedelta(days=days)
    by_person = Q(decided_at__isnull=False, decided_by__isnull=False)
    wait = Extract(F("decided_at") - F("created_at"), "epoch")
    rows = (
        ActionRequest.objects.filter(created_at__gte=since)
        .values("tier")
        .annotate(
            requests=Count("id"),
            expired=Count("id", filter=Q(status=ActionRequest.Status.EXPIRED)),
            auto_executed=Count(
                "id",
                filter=Q(decided_at__isnull=False, decided_by__isnull=True, decision_comment=AUTO_SEND_NOTE),
            ),
            cancelled=Count("id", filter=Q(status=ActionRequest.Status.CANCELLED)),
            decision_p50_s=PercentileCont(wait, 0.5, filter=by_person),
            decision_p95_s=PercentileCont(wait, 0.95, filter=by_person),
        )
        .order_by("tier")
    )
    tiers: dict[str, dict[str, Any]] = {}
    for row in rows:
        tier: dict[str, Any] = {name: value for name, value in row.items() if name != "tier"}
        for name in ("decision_p50_s", "decision_p95_s"):
            tier[name] = round(tier[name], 3) if tier[name] is not None else None
        tier["cancel_rate"] = round(tier["cancelled"] / tier["requests"], 3) if tier["requests"] else 0.0
        tiers[row["tier"]] = tier
    return tiers


def approval_metrics_cached() -> dict[str, dict[str, Any]]:
    """approval_metrics, computed at most once per APPROVAL_METRICS_CACHE_S in each web process:
    the queue page is loaded often, and a week's figures barely move in a minute."""
    ttl = settings.APPROVAL_METRICS_CACHE_S
    if ttl <= 0:
        return approval_metrics()
    metrics = cache.get_or_set(_METRICS_CACHE_KEY, approval_metrics, ttl)
    return metrics if isinstance(metrics, dict) else approval_metrics()


_METRICS_CACHE_KEY = "approvals:metrics:7d"

AUTO_SEND_NOTE = "sent automatically when its delay ended"
