"""The sessions list and one session's tasks."""

import uuid

from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from agents.models import Task
from agents.selectors import session_get_visible
from console.pages import selectors
from console.pages.auth import AuthedRequest, login_required
from core.errors import NotFound
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
    try:
        session = session_get_visible(session_id=session_id, user=request.user)
    except NotFound as error:
        raise Http404(error.message) from error
    page = Paginator(selectors.session_tasks(session=session), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "console/session_detail.html", {"session": session, "page": page})
