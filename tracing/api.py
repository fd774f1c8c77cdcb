"""GET /tasks/{id}/trace: a task's spans, a page at a time (a trace may hold 10,000)."""

import uuid
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from agents.api import request_user
from agents.api.schemas import READ_ERRORS, ErrorOut, SpanId, TraceOut
from agents.selectors import task_get_visible, task_trace_page

router = Router(tags=["traces"])


class TracePageQuery(Schema):
    limit: int = Field(default=200, ge=1, le=1000)
    after: SpanId | None = Field(default=None, description="the span_id of the previous page's last span")


@router.get(
    "/{task_id}/trace",
    response={200: TraceOut, READ_ERRORS: ErrorOut},
    summary="A task's trace: its spans in start order (its owner, reviewers)",
)
def get_trace(request: HttpRequest, task_id: uuid.UUID, page: Query[TracePageQuery]) -> dict[str, Any]:
    task = task_get_visible(task_id=task_id, user=request_user(request))
    found = task_trace_page(task=task, after=page.after, limit=page.limit)
    return {
        "task": task.id,
        "trace_id": found.trace_id,
        "spans": found.spans,
        "next": found.next_after,
    }
