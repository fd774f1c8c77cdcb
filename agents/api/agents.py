"""Agents: an admin creates, edits and rolls them back; every edit is a new version, and so is a
draft (a version that serves only as a rollout's canary until it is made current)."""

from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Path, Query, Router
from ninja.responses import Status
from pydantic import Field

from agents.api import request_user
from agents.api.schemas import (
    PG_INT_MAX,
    READ_ERRORS,
    WRITE_ERRORS,
    AgentFilter,
    AgentIn,
    AgentName,
    AgentOut,
    AgentPage,
    AgentPatch,
    ErrorOut,
    LoopsIn,
    RollbackIn,
    usd,
)
from agents.guards.loops import loop_settings
from agents.models import Agent, AgentVersion
from agents.selectors import agent_current_version, user_is_admin, user_is_reviewer
from agents.services.catalog import agent_create, agent_draft_create, agent_rollback, agent_update
from agents.services.version_checks import version_checker
from core.errors import Forbidden, NotFound
from core.pagination import PageQuery, next_link, page_of

router = Router(tags=["agents"])
VersionNumber = Annotated[int, Field(ge=1, le=PG_INT_MAX)]


@router.post("", response={201: AgentOut, WRITE_ERRORS: ErrorOut}, summary="Create an agent (admin)")
def create_agent(request: HttpRequest, payload: AgentIn) -> Status[dict[str, Any]]:
    user = _admin(request)
    fields = payload.model_dump(exclude_unset=True, exclude={"budgets", "loops"})
    version = agent_create(
        actor=user, **fields, **payload.budgets.model_dump(exclude_unset=True), **_loop_fields(payload.loops)
    )
    return Status(201, _agent_out(version, current=True))


@router.get(
    "", response={200: AgentPage, READ_ERRORS: ErrorOut}, summary="The agents, newest first (reviewers)"
)
def list_agents(request: HttpRequest, filters: Query[AgentFilter]) -> dict[str, Any]:
    _reviewer(request)
    agents = Agent.objects.filter(current_version__isnull=False).select_related("current_version")
    if filters.model:
        agents = agents.filter(current_version__model=filters.model)
    if filters.tool:
        agents = agents.filter(current_version__tools__name=filters.tool)
    page = page_of(agents.prefetch_related("current_version__tools"), filters)
    items = []
    for agent in page.items:
        version: AgentVersion = agent.current_version  # type: ignore[assignment]  # filtered non-null
        version.agent = agent
        items.append(_agent_out(version, current=True))
    return {"items": items, "next": next_link(request, page.cursor)}


@router.get("/{name}", response={200: AgentOut, READ_ERRORS: ErrorOut}, summary="An agent's current version")
def get_agent(request: HttpRequest, name: Path[AgentName]) -> dict[str, Any]:
    _reviewer(request)
    return _agent_out(agent_current_version(name=name), current=True)


@router.patch(
    "/{name}",
    response={200: AgentOut, WRITE_ERRORS: ErrorOut},
    summary="Edit an agent (admin): creates a new version (a candidate while required eval suites "
    "run); running sessions keep theirs",
)
def update_agent(request: HttpRequest, name: Path[AgentName], payload: AgentPatch) -> dict[str, Any]:
    version = agent_update(actor=_admin(request), name=name, **_version_changes(payload))
    return _agent_out(version, current=version.agent.current_version_id == version.pk)


@router.post(
    "/{name}/versions",
    response={201: AgentOut, WRITE_ERRORS: ErrorOut},
    summary="Add a draft version (admin): the body of an edit, but the new version serves no new "
    "session until a rollout makes it the canary; required eval suites run against it as for an edit",
)
def create_draft(request: HttpRequest, name: Path[AgentName], payload: AgentPatch) -> Status[dict[str, Any]]:
    version = agent_draft_create(actor=_admin(request), name=name, **_version_changes(payload))
    return Status(201, _agent_out(version, current=False))


@router.get(
    "/{name}/versions",
    response={200: AgentPage, READ_ERRORS: ErrorOut},
    summary="An agent's versions, newest first (reviewers)",
)
def list_versions(
    request: HttpRequest, name: Path[AgentName], page_query: Query[PageQuery]
) -> dict[str, Any]:
    _reviewer(request)
    agent = _agent(name)
    page = page_of(agent.versions.prefetch_related("tools"), page_query)
    items = []
    for version in page.items:
        version.agent = agent
        items.append(_agent_out(version, current=version.pk == agent.current_version_id))
    return {"items": items, "next": next_link(request, page.cursor)}


@router.get(
    "/{name}/versions/{number}",
    response={200: AgentOut, READ_ERRORS: ErrorOut},
    summary="One version of an agent (reviewers)",
)
def get_version(request: HttpRequest, name: Path[AgentName], number: Path[VersionNumber]) -> dict[str, Any]:
    _reviewer(request)
    agent = _agent(name)
    version = agent.versions.prefetch_related("tools").filter(number=number).first()
    if version is None:
        raise NotFound(f"agent {name!r} has no version {number}", field="number")
    version.agent = agent
    return _agent_out(version, current=version.pk == agent.current_version_id)


@router.post(
    "/{name}/rollback",
    response={200: AgentOut, WRITE_ERRORS: ErrorOut},
    summary="Make an older version current again (admin, audited); running sessions keep theirs",
)
def rollback_agent(request: HttpRequest, name: Path[AgentName], payload: RollbackIn) -> dict[str, Any]:
    version = agent_rollback(actor=_admin(request), name=name, number=payload.version)
    return _agent_out(version, current=True)


def _admin(request: HttpRequest) -> Any:
    user = request_user(request)
    if not user_is_admin(user=user):
        raise Forbidden("only an admin may create or change agents")
    return user


def _reviewer(request: HttpRequest) -> None:
    if not user_is_reviewer(user=request_user(request)):
        raise Forbidden("only reviewers and admins may read agents")


def _agent(name: str) -> Agent:
    agent = Agent.objects.filter(name=name, current_version__isnull=False).first()
    if agent is None:
        raise NotFound(f"no agent named {name!r}", field="name")
    return agent


def _version_changes(payload: AgentPatch) -> dict[str, Any]:
    """An edit's body as agent_update's (and agent_draft_create's) keyword arguments."""
    changes = payload.model_dump(exclude_unset=True, exclude={"budgets", "loops"})
    if payload.budgets is not None:
        changes |= payload.budgets.model_dump(exclude_unset=True)
    if payload.loops is not None:
        changes |= _loop_fields(payload.loops)
    return changes


def _loop_fields(loops: LoopsIn) -> dict[str, Any]:
    names = {"threshold": "loop_threshold", "window": "loop_window", "repeat_limit": "repeat_limit"}
    return {names[key]: value for key, value in loops.model_dump(exclude_unset=True).items()}


def _agent_out(version: AgentVersion, *, current: bool) -> dict[str, Any]:
    agent = version.agent
    threshold, window, repeat_limit = loop_settings(version)
    return {
        "name": agent.name,
        "version": version.number,
        "system_prompt": version.system_prompt,
        "model": version.model,
        "fallback_model": version.fallback_model,
        # Sorted in Python: a prefetched list is used as it is, with no query per version.
        "tools": sorted(tool.name for tool in version.tools.all()),
        "budgets": {
            "max_tokens": version.max_tokens,
            "max_cost_usd": usd(version.max_cost_usd),
            "max_tool_calls": version.max_tool_calls,
            "max_iterations": version.max_iterations,
            "max_seconds": version.max_seconds,
        },
        "loops": {"threshold": threshold, "window": window, "repeat_limit": repeat_limit},
        "input_trust": version.input_trust,
        "current": current,
        "status": version.status,
        "created_as_draft": version.created_as_draft,
        "blocked": _blocked(version),
        "created_at": agent.created_at,
        "version_created_at": version.created_at,
    }


def _blocked(version: AgentVersion) -> dict[str, Any] | None:
    # Only a candidate can be blocked: no query for any other version.
    if version.status != AgentVersion.Status.CANDIDATE:
        return None
    block = version_checker().blocked(version=version)
    return None if block is None else {"code": block.code, "message": block.message, **block.details}
