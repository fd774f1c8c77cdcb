"""The sessions list, one session's tasks and executed actions, and undoing them."""

import uuid

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from agents.models import Task
from agents.selectors import session_get_visible, user_is_reviewer
from approvals.undo.actions import session_actions
from approvals.undo.start import undo_start
from console.pages import selectors
from console.pages.auth import AuthedRequest, login_required, role_required
from console.pages.forms import UndoForm
from core.errors import NotFound, ServiceError
from tracing.session_search import SessionSearchForm, session_search_apply

PAGE_SIZE = 50


@require_GET
@login_required
def session_list(request: AuthedRequest) -> HttpResponse:
    agent = request.GET.get("agent", "")
    status = request.GET.get("status", "")
    if status not in Task.Status.values:
        status = ""
    sessions = selectors.session_list(viewer=request.user, agent=agent, status=status)
    search = SessionSearchForm(request.GET)
    sessions = session_search_apply(sessions, search)
    page = Paginator(sessions, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "agents": selectors.agent_names(),
        "statuses": Task.Status.choices,
        "agent": agent,
        "status": status,
        "search": search,
    }
    return render(request, "console/session_list.html", context)


@require_GET
@login_required
def session_detail(request: AuthedRequest, session_id: uuid.UUID) -> HttpResponse:
    reviewer = user_is_reviewer(user=request.user)
    try:
        session = session_get_visible(session_id=session_id, user=request.user, is_reviewer=reviewer)
    except NotFound as error:
        raise Http404(error.message) from error
    page = Paginator(selectors.session_tasks(session=session), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "session": session,
        "page": page,
        # Reviewers and admins see the executed actions, undo them, and are told of irreversible ones.
        "actions": session_actions(session) if reviewer else None,
        "may_undo": reviewer,
    }
    return render(request, "console/session_detail.html", context)


@require_POST
@role_required(user_is_reviewer, denial="only reviewers and admins may undo actions")
def session_undo(request: AuthedRequest, session_id: uuid.UUID) -> HttpResponse:
    """Undo one action (`action`) or, with the `confirm` box ticked, all of them."""
    try:
        session = session_get_visible(session_id=session_id, user=request.user, is_reviewer=True)
    except NotFound as error:
        raise Http404(error.message) from error
    form = UndoForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(msg) for errors in form.errors.values() for msg in errors))
        return redirect("console:session", session_id=session.pk)
    try:
        started = undo_start(session, by=request.user, action=form.cleaned_data["action"] or None)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        count = len(started.undos)
        messages.success(
            request,
            f"Undo started: task {started.task.pk} runs {count} compensation{'s' if count > 1 else ''}.",
        )
    return redirect("console:session", session_id=session.pk)
