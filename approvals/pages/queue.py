"""The live approval queue page, its decision endpoint and each request's context."""

import uuid
from typing import Any

from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from approvals.pages.access import reviewer_required
from approvals.selectors import (
    action_request_as_dict,
    action_request_context,
    action_requests_visible,
    approval_metrics_cached,
    user_may_review,
)
from approvals.services import action_request_decide, action_request_get
from console.pages.auth import AuthedRequest
from core.errors import NotFound, ServiceError
from core.http_errors import error_response
from core.json_input import RequestRejected, json_request_body

MAX_SHOWN = 500


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
    pending = action_requests_visible(user=request.user, status="pending").select_related("decided_by")
    items = [action_request_as_dict(item) for item in pending[:MAX_SHOWN]]
    return render(
        request,
        "approvals/queue.html",
        {"items": items, "metrics": approval_metrics_cached(), "me": request.user.get_username()},
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
        body = json_request_body(request)
    except RequestRejected as exc:
        return error_response(exc.status, exc.code, exc.message, exc.field)
    if not isinstance(body, dict):
        return error_response(400, "invalid", "send a JSON object")
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
