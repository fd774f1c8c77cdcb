"""Admins list and delete an agent's memories (the runtime writes them; see agents/memory/)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from agents.memory.selectors import memories_of
from agents.memory.services import memory_delete
from agents.models import Agent, Memory
from agents.selectors import user_is_admin
from console.pages.auth import AuthedRequest, login_required
from core.errors import NotFound

PAGE_SIZE = 50


@require_GET
@login_required
def memory_list_page(request: AuthedRequest) -> HttpResponse:
    _admin_only(request)
    agents = list(Agent.objects.order_by("name").values_list("name", flat=True))
    name = request.GET.get("agent") or (agents[0] if agents else "")
    agent = Agent.objects.filter(name=name).first()
    # The page's rows only, read from the database: an agent gathers memories all year.
    memories = Memory.objects.none()
    if agent is not None:
        memories = memories_of(agent_id=agent.pk).order_by("-created_at", "-id")
    page = Paginator(memories, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "console/memory_list.html", {"agents": agents, "agent": agent, "page": page})


@require_POST
@login_required
def memory_delete_view(request: AuthedRequest, agent_name: str, memory_id: int) -> HttpResponse:
    _admin_only(request)
    agent = Agent.objects.filter(name=agent_name).first()
    if agent is None:
        raise Http404("no such agent")
    try:
        memory_delete(actor=request.user, agent=agent, memory_id=memory_id)
    except NotFound as error:
        raise Http404(error.message) from error
    messages.success(request, "Memory deleted.")
    return redirect(f"{reverse('console:memories')}?agent={agent.name}")


def _admin_only(request: AuthedRequest) -> None:
    if not user_is_admin(user=request.user):
        raise PermissionDenied("only admins may see memories")
