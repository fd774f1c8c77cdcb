"""GET /approvals, GET /approvals/{id}, POST /approvals/{id}/decision and /outcome: reviewers work
the queue."""

import uuid
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from agents.api import request_user
from agents.api.schemas import READ_ERRORS, WRITE_ERRORS, ErrorOut
from approvals.api.schemas import (
    ActionRequestFilter,
    ActionRequestList,
    ActionRequestOut,
    DecisionIn,
    OutcomeIn,
    StaleVersionOut,
)
from approvals.outcomes import action_request_outcome_record
from approvals.selectors import (
    action_request_as_dict,
    action_requests_visible,
    user_may_open_queue,
    user_may_review,
)
from approvals.services import action_request_decide, action_request_get
from core.errors import Forbidden, NotFound
from core.pagination import next_link, page_of

router = Router(tags=["approvals"])


@router.get(
    "",
    response={200: ActionRequestList, READ_ERRORS: ErrorOut},
    summary="The action requests you may review, newest first (reviewers)",
)
def list_requests(request: HttpRequest, filters: Query[ActionRequestFilter]) -> dict[str, Any]:
    user = request_user(request)
    if not user_may_open_queue(user=user):
        raise Forbidden("only reviewers and admins may read the approval queue")
    requests = action_requests_visible(user=user, status=filters.status).select_related(
        "decided_by", "outcome_by"
    )
    if filters.task:
        requests = requests.filter(task_id=filters.task)
    if filters.agent:
        requests = requests.filter(agent_name=filters.agent)
    if filters.tool:
        requests = requests.filter(tool_name=filters.tool)
    if filters.tier:
        requests = requests.filter(tier=filters.tier)
    page = page_of(requests, filters)
    return {
        "items": [action_request_as_dict(item) for item in page.items],
        "next": next_link(request, page.cursor),
    }


@router.get(
    "/{request_id}",
    response={200: ActionRequestOut, READ_ERRORS: ErrorOut},
    summary="One action request (reviewers of its group)",
)
def get_request(request: HttpRequest, request_id: uuid.UUID) -> dict[str, Any]:
    return action_request_as_dict(_reviewable(request, request_id))


@router.post(
    "/{request_id}/decision",
    response={200: ActionRequestOut, WRITE_ERRORS - {409}: ErrorOut, 409: StaleVersionOut},
    summary="Approve (optionally with edited arguments), reject with a comment, or cancel",
)
def decide(request: HttpRequest, request_id: uuid.UUID, payload: DecisionIn) -> dict[str, Any]:
    decided = action_request_decide(
        action_request=_reviewable(request, request_id),
        actor=request_user(request),
        decision=payload.decision,
        comment=payload.comment,
        arguments=payload.arguments,
        version=payload.version,
    )
    decided.refresh_from_db()
    return action_request_as_dict(decided)


@router.post(
    "/{request_id}/outcome",
    response={200: ActionRequestOut, WRITE_ERRORS: ErrorOut},
    summary="Record what happened to a call whose outcome is unknown (done with a result, or not done)",
)
def record_outcome(request: HttpRequest, request_id: uuid.UUID, payload: OutcomeIn) -> dict[str, Any]:
    recorded = action_request_outcome_record(
        action_request=_reviewable(request, request_id),
        actor=request_user(request),
        done=payload.done,
        result=payload.result,
        note=payload.note,
    )
    return action_request_as_dict(recorded)


def _reviewable(request: HttpRequest, request_id: uuid.UUID) -> Any:
    action_request = action_request_get(request_id=request_id)
    # Outside the reviewer's groups it does not exist, so request ids cannot be probed.
    if not user_may_review(user=request_user(request), reviewer_group=action_request.reviewer_group):
        raise NotFound(f"no action request {request_id}")
    return action_request
