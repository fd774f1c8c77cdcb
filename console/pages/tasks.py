"""A task's page (and the fragment that refreshes it), submitting and cancelling tasks."""

import uuid
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from agents.models import Task
from agents.selectors import task_get_visible, task_steps, task_trace_page
from agents.services.tasks import task_cancel, task_submit
from console.pages import present, selectors
from console.pages.auth import AuthedRequest, login_required
from console.pages.forms import TaskSubmitForm
from core.errors import NotFound, ServiceError
from tracing.models import Span
from tracing.prompts import prompt_reassemble
from tracing.waterfall import waterfall_rows

# Spans shown on one page of the task; a longer trace continues on the next page.
SPANS_PER_PAGE = 500


def _visible_task(request: AuthedRequest, task_id: uuid.UUID) -> Task:
    try:
        return task_get_visible(task_id=task_id, user=request.user)
    except NotFound as error:
        raise Http404(error.message) from error


def _summary_context(request: AuthedRequest, task: Task) -> dict[str, Any]:
    """What the live fragment shows: the task's status, usage, result and steps (no spans)."""
    return {
        "task": task,
        "steps": present.step_views(task_steps(task=task)),
        "can_cancel": not task.is_final and selectors.user_may_cancel(task=task, user=request.user),
    }


def _task_context(request: AuthedRequest, task: Task) -> dict[str, Any]:
    after = request.GET.get("after") or None
    try:
        trace = task_trace_page(task=task, after=after, limit=SPANS_PER_PAGE)
    except ServiceError:
        # A stale or made-up cursor: show the trace from its start.
        after, trace = None, task_trace_page(task=task, after=None, limit=SPANS_PER_PAGE)
    spans = present.span_views(trace.spans, origin=task.started_at or task.created_at)
    return {
        **_summary_context(request, task),
        "spans": spans,
        "waterfall": waterfall_rows(spans),
        "trace_id": trace.trace_id,
        "spans_after": after,
        "spans_next": trace.next_after,
    }


@require_GET
@login_required
def task_detail(request: AuthedRequest, task_id: uuid.UUID) -> HttpResponse:
    task = _visible_task(request, task_id)
    return render(request, "console/task_detail.html", _task_context(request, task))


@require_GET
@login_required
def task_live(request: AuthedRequest, task_id: uuid.UUID) -> HttpResponse:
    """The task page's summary alone (no spans), fetched by console.js while the task runs."""
    task = _visible_task(request, task_id)
    return render(request, "console/_task_body.html", _summary_context(request, task))


@require_GET
@login_required
def span_payload(request: AuthedRequest, task_id: uuid.UUID, span_pk: int, part: str) -> HttpResponse:
    """A span's whole input or output, as plain text: the page shows only its first 10 kB."""
    if part not in ("input", "output"):
        raise Http404("no such part")
    task = _visible_task(request, task_id)
    try:
        span = selectors.task_span_get(task=task, span_pk=span_pk)
    except NotFound as error:
        raise Http404(error.message) from error
    if part == "output":
        value = span.output
    elif span.kind == Span.Kind.MODEL:
        value = prompt_reassemble(span)  # it stores only its step's new messages and a reference
    else:
        value = span.input
    # text/plain (with the nosniff header SecurityMiddleware adds) is never run as HTML.
    return HttpResponse(present.payload_text(value), content_type="text/plain; charset=utf-8")


@require_POST
@login_required
def task_cancel_view(request: AuthedRequest, task_id: uuid.UUID) -> HttpResponse:
    task = _visible_task(request, task_id)
    if not selectors.user_may_cancel(task=task, user=request.user):
        raise PermissionDenied("only the task's owner or an admin may cancel it")
    try:
        task = task_cancel(task=task, actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        if task.status == Task.Status.CANCELLED:
            messages.success(request, "Task cancelled.")
        else:
            messages.success(request, "Cancellation requested: the task stops at its next step boundary.")
    return redirect("console:task", task_id=task.id)


@require_http_methods(["GET", "POST"])
@login_required
def task_new(request: AuthedRequest) -> HttpResponse:
    agents = selectors.agents_with_current_version()
    form = TaskSubmitForm(request.POST if request.method == "POST" else None, agents=agents)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            task, _created = task_submit(
                owner=request.user,
                agent_name=data["agent"],
                input=data["input"],
                end_user=data["end_user"],
                # Prefixed so a form's key can never meet a REST client's key of the same owner.
                idempotency_key=f"console-form:{data['submission_key']}" if data["submission_key"] else None,
            )
        except ServiceError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            return redirect("console:task", task_id=task.id)
    return render(request, "console/task_new.html", {"form": form, "has_agents": bool(agents)})
