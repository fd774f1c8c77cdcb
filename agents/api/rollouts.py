"""Rollouts of an agent: an admin starts, promotes and rolls them back; reviewers read them."""

from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Path, Query, Router
from ninja.responses import Status
from pydantic import Field

from agents.api import request_user
from agents.api.rollout_schemas import (
    RolloutDetailOut,
    RolloutEndIn,
    RolloutFilter,
    RolloutIn,
    RolloutPage,
)
from agents.api.schemas import READ_ERRORS, WRITE_ERRORS, AgentName, ErrorOut, usd
from agents.models import Agent, Rollout
from agents.rollouts.comparison import ArmNumbers, rollout_compare
from agents.rollouts.judge import rollback_reason
from agents.rollouts.services import rollout_get, rollout_promote, rollout_roll_back, rollout_start
from agents.selectors import user_is_admin, user_is_reviewer
from core.errors import Forbidden, NotFound
from core.pagination import next_link, page_of

router = Router(tags=["rollouts"])
RolloutId = Annotated[int, Field(ge=1, le=2**63 - 1)]


@router.post(
    "/{name}/rollouts",
    response={201: RolloutDetailOut, WRITE_ERRORS: ErrorOut},
    summary="Start a rollout (admin, audited): a share of new sessions runs the canary version",
)
def start_rollout(request: HttpRequest, name: Path[AgentName], payload: RolloutIn) -> Status[dict[str, Any]]:
    rollout = rollout_start(actor=_admin(request), agent_name=name, **payload.model_dump(exclude_unset=True))
    return Status(201, _detail_out(rollout_get(agent_name=name, rollout_id=rollout.pk)))


@router.get(
    "/{name}/rollouts",
    response={200: RolloutPage, READ_ERRORS: ErrorOut},
    summary="An agent's rollouts, newest first (reviewers)",
)
def list_rollouts(
    request: HttpRequest, name: Path[AgentName], filters: Query[RolloutFilter]
) -> dict[str, Any]:
    _reviewer(request)
    agent = Agent.objects.filter(name=name).first()
    if agent is None:
        raise NotFound(f"no agent named {name!r}", field="name")
    rollouts = Rollout.objects.filter(agent=agent).select_related(
        "baseline", "canary", "created_by", "ended_by"
    )
    if filters.status:
        rollouts = rollouts.filter(status=filters.status)
    page = page_of(rollouts, filters)
    items = []
    for rollout in page.items:
        rollout.agent = agent
        items.append(_rollout_out(rollout))
    return {"items": items, "next": next_link(request, page.cursor)}


@router.get(
    "/{name}/rollouts/{rollout_id}",
    response={200: RolloutDetailOut, READ_ERRORS: ErrorOut},
    summary="A rollout with the live comparison of its two arms (reviewers)",
)
def get_rollout(request: HttpRequest, name: Path[AgentName], rollout_id: Path[RolloutId]) -> dict[str, Any]:
    _reviewer(request)
    return _detail_out(rollout_get(agent_name=name, rollout_id=rollout_id))


@router.post(
    "/{name}/rollouts/{rollout_id}/promote",
    response={200: RolloutDetailOut, WRITE_ERRORS: ErrorOut},
    summary="Promote the canary (admin, audited): it becomes the current version",
)
def promote_rollout(
    request: HttpRequest, name: Path[AgentName], rollout_id: Path[RolloutId], payload: RolloutEndIn
) -> dict[str, Any]:
    user = _admin(request)
    rollout = rollout_get(agent_name=name, rollout_id=rollout_id)
    return _detail_out(rollout_promote(rollout=rollout, actor=user, reason=payload.reason))


@router.post(
    "/{name}/rollouts/{rollout_id}/rollback",
    response={200: RolloutDetailOut, WRITE_ERRORS: ErrorOut},
    summary="Roll the canary back (admin, audited): new sessions run the baseline; started ones finish",
)
def roll_back_rollout(
    request: HttpRequest, name: Path[AgentName], rollout_id: Path[RolloutId], payload: RolloutEndIn
) -> dict[str, Any]:
    user = _admin(request)
    rollout = rollout_get(agent_name=name, rollout_id=rollout_id)
    return _detail_out(rollout_roll_back(rollout=rollout, actor=user, reason=payload.reason))


def _admin(request: HttpRequest) -> Any:
    user = request_user(request)
    if not user_is_admin(user=user):
        raise Forbidden("only an admin may start, promote or roll back rollouts")
    return user


def _reviewer(request: HttpRequest) -> None:
    if not user_is_reviewer(user=request_user(request)):
        raise Forbidden("only reviewers and admins may read rollouts")


def _rollout_out(rollout: Rollout) -> dict[str, Any]:
    return {
        "id": rollout.pk,
        "agent": rollout.agent.name,
        "status": rollout.status,
        "baseline_version": rollout.baseline.number,
        "canary_version": rollout.canary.number,
        "percent": rollout.percent,
        "failure_rate_multiple": str(rollout.failure_rate_multiple),
        "cost_multiple": str(rollout.cost_multiple),
        "min_tasks": rollout.min_tasks,
        "created_by": rollout.created_by.get_username() if rollout.created_by else None,
        "created_at": rollout.created_at,
        "ended_at": rollout.ended_at,
        "ended_by": rollout.ended_by.get_username() if rollout.ended_by else None,
        "ended_reason": rollout.ended_reason,
    }


def _detail_out(rollout: Rollout) -> dict[str, Any]:
    comparison = rollout_compare(rollout)
    active = rollout.status == Rollout.Status.ACTIVE
    return {
        **_rollout_out(rollout),
        "comparison": {"baseline": _arm_out(comparison.baseline), "canary": _arm_out(comparison.canary)},
        "judgment": rollback_reason(rollout, comparison) if active else None,
    }


def _arm_out(numbers: ArmNumbers) -> dict[str, Any]:
    per_task = numbers.cost_per_task
    return {
        "arm": numbers.arm,
        "version": numbers.version,
        "sessions": numbers.sessions,
        "tasks": numbers.tasks,
        "finished": numbers.finished,
        "succeeded": numbers.succeeded,
        "failed": numbers.failed,
        "success_rate": _rate(numbers.success_rate),
        "failure_rate": _rate(numbers.failure_rate),
        "cost_usd": usd(numbers.cost_usd),
        "cost_per_task_usd": usd(per_task) if per_task is not None else None,
        "approvals_asked": numbers.approvals_asked,
        "rejections": numbers.rejections,
        "latency_p50_ms": _ms(numbers.latency_p50_ms),
        "latency_p95_ms": _ms(numbers.latency_p95_ms),
    }


def _rate(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None


def _ms(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None
