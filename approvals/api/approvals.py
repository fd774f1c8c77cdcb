"""GET /approvals?status=pending, POST /approvals/{id}/decision: reviewers work the queue."""

import uuid
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router

from agents.api import request_user
from agents.api.schemas import READ_ERRORS, WRITE_ERRORS, ErrorOut
from approvals.api.schemas import ActionRequestList, ActionRequestOut, DecisionIn, StaleVersionOut
from approvals.selectors import (
    action_request_as_dict,
    action_requests_visible,
    user_may_open_queue,
    user_may_review,
)
from approvals.services import action_request_decide, action_request_get
from core.errors import Forbidden, NotFound

router = Router(tags=["approvals"])
Status = Literal[
    "pending", "approved", "rejected", "cancelled", "expired", "executing", "executed", "failed", "done"
]
MAX_LISTED = 500


@router.get("", response={200: ActionRequestList, READ_ERRORS: ErrorOut}, summary="The queue (reviewers)")
def list_requests(request: HttpRequest, status: Status | None = None) -> dict[str, Any]:
    user = request_user(request)
    if not user_may_open_queue(user=user):
        raise Forbidden("only reviewers and admins may read the approval queue")
    requests = action_requests_visible(user=user, status=status).select_related("decided_by")[:MAX_LISTED]
    return {"items": [action_request_as_dict(item) for item in requests]}


@router.post(
    "/{request_id}/decision",
    response={200: ActionRequestOut, WRITE_ERRORS - {409}: ErrorOut, 409: StaleVersionOut},
    summary="Approve (optionally with edited arguments), reject with a comment, or cancel",
)
def decide(request: HttpRequest, request_id: uuid.UUID, payload: DecisionIn) -> dict[str, Any]:
    user = request_user(request)
    action_request = action_request_get(request_id=request_id)
    if not user_may_review(user=user, reviewer_group=action_request.reviewer_group):
        raise NotFound(f"no action request {request_id}")
    decided = action_request_decide(
        action_request=action_request,
        actor=user,
        decision=payload.decision,
        comment=payload.comment,
        arguments=payload.arguments,
        version=payload.version,
    )
    decided.refresh_from_db()
    return action_request_as_dict(decided)
