"""The live approval queue page, its decision and outcome endpoints and each request's context."""

import uuid
from typing import Any

from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST
from pydantic import ValidationError

from approvals.models import ActionRequest
from approvals.outcomes import action_request_outcome_record
from approvals.pages.access import reviewer_required
from approvals.selectors import (
    action_request_as_dict,
    action_request_context,
    action_requests_visible,
    approval_metrics_cached,
    user_may_review,
)
from approvals.services import MAX_COMMENT_CHARS, action_request_decide, action_request_get
from console.pages.auth import AuthedRequest
from core.errors import NotFound, ServiceError
from core.http_errors import error_response
from core.json_input import RequestRejected, json_request_object
from core.pagination import MAX_LIMIT, PageQuery, next_link, page_of


def _visible(request: AuthedRequest, request_id: uuid.UUID) -> Any:
    try:
        action_request = action_request_get(request_id=request_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if not user_may_review(user=request.user, reviewer_group=action_request.reviewer_group):
        raise Http404("no such request")
    return action_request


@require_GET
@reviewer_required
def queue(request: AuthedRequest) -> HttpResponse:
    # The REST list's cursor pages, newest first: a request that just arrived is always on
    # the first page, however many wait. `?cursor=` (from the "older" link) and `?order=oldest`.
    try:
        query = PageQuery.model_validate(
            {
                "limit": MAX_LIMIT,
                **{key: request.GET[key] for key in ("cursor", "order") if key in request.GET},
            }
        )
        # Pending requests, and calls whose outcome a person must record.
        waiting = action_requests_visible(user=request.user).filter(status__in=ActionRequest.QUEUE_STATUSES)
        page = page_of(waiting.select_related("decided_by"), query)
    except (ValidationError, ServiceError) as exc:
        raise Http404("no such page of the queue") from exc
    return render(
        request,
        "approvals/queue.html",
        {
            "items": [action_request_as_dict(item) for item in page.items],
            "next": next_link(request, page.cursor),
            "metrics": approval_metrics_cached(),
            "me": request.user.get_username(),
            "max_comment_chars": MAX_COMMENT_CHARS,
        },
    )


@require_GET
@reviewer_required
def context(request: AuthedRequest, request_id: uuid.UUID) -> JsonResponse:
    action_request = _visible(request, request_id)
    return JsonResponse(
        {"request": action_request_as_dict(action_request), **action_request_context(request=action_request)}
    )


@require_POST
@reviewer_required
def decide(request: AuthedRequest, request_id: uuid.UUID) -> JsonResponse:
    action_request = _visible(request, request_id)
    try:
        body = json_request_object(request)
    except RequestRejected as exc:
        return error_response(exc.status, exc.code, exc.message, exc.field)
    try:
        decided = action_request_decide(
            action_request=action_request,
            actor=request.user,
            decision=str(body.get("decision", "")),
            comment=str(body.get("comment") or ""),
            arguments=body.get("arguments"),
            # The page always sends the version it shows; a body without one meant the original.
            version=body.get("version", 1),
        )
    except ServiceError as exc:
        return error_response(exc.status, exc.code, exc.message, exc.field, exc.details)
    decided.refresh_from_db()
    return JsonResponse({"request": action_request_as_dict(decided)})


@require_POST
@reviewer_required
def outcome(request: AuthedRequest, request_id: uuid.UUID) -> JsonResponse:
    """A person records what happened to a call whose outcome is unknown (approvals/outcomes.py)."""
    action_request = _visible(request, request_id)
    try:
        body = json_request_object(request)
    except RequestRejected as exc:
        return error_response(exc.status, exc.code, exc.message, exc.field)
    try:
        recorded = action_request_outcome_record(
            action_request=action_request,
            actor=request.user,
            done=body.get("done"),  # type: ignore[arg-type]  # checked by the service
            result=body.get("result"),
            note=str(body.get("note") or ""),
        )
    except ServiceError as exc:
        return error_response(exc.status, exc.code, exc.message, exc.field, exc.details)
    return JsonResponse({"request": action_request_as_dict(recorded)})
