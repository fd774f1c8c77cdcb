"""The rows a task page appends while its trace grows (asked for after a live push)."""

import uuid

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from agents.selectors import task_get_visible, task_trace_page
from console.pages import present
from console.pages.auth import AuthedRequest, login_required
from core.errors import NotFound, ServiceError
from tracing.waterfall import waterfall_rows

ROWS_PER_FETCH = 500


@require_GET
@login_required
def trace_rows(request: AuthedRequest, task_id: uuid.UUID) -> HttpResponse:
    try:
        task = task_get_visible(task_id=task_id, user=request.user)
        page = task_trace_page(task=task, after=request.GET.get("after") or None, limit=ROWS_PER_FETCH)
    except NotFound as error:
        raise Http404(error.message) from error
    except ServiceError as error:
        return HttpResponse(error.message, status=400, content_type="text/plain; charset=utf-8")
    views = present.span_views(page.spans, origin=task.started_at or task.created_at)
    response = render(
        request, "tracing/_waterfall_rows.html", {"task": task, "waterfall": waterfall_rows(views)}
    )
    # The page fetches again from here when one fetch did not hold every new span.
    response["X-Trace-Next"] = page.next_after or ""
    return response
