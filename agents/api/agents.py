"""Agents: an admin creates and edits them; every edit is a new version."""

from typing import Any

from django.http import HttpRequest
from ninja import Path, Router
from ninja.responses import Status

from agents.api import request_user
from agents.api.schemas import (
    READ_ERRORS,
    WRITE_ERRORS,
    AgentIn,
    AgentName,
    AgentOut,
    AgentPatch,
    ErrorOut,
    LoopsIn,
    usd,
)
from agents.guards.loops import loop_settings
from agents.models import AgentVersion
from agents.selectors import agent_current_version, agent_version_tool_names, user_is_admin, user_is_reviewer
from agents.services.catalog import agent_create, agent_update
from core.errors import Forbidden

router = Router(tags=["agents"])


@router.post("", response={201: AgentOut, WRITE_ERRORS: ErrorOut}, summary="Create an agent (admin)")
def create_agent(request: HttpRequest, payload: AgentIn) -> Status[dict[str, Any]]:
    user = request_user(request)
    if not user_is_admin(user=user):
        raise Forbidden("only an admin may create agents")
    fields = payload.model_dump(exclude_unset=True, exclude={"budgets", "loops"})
    version = agent_create(
        actor=user, **fields, **payload.budgets.model_dump(exclude_unset=True), **_loop_fields(payload.loops)
    )
    return Status(201, _agent_out(version))


@router.get("/{name}", response={200: AgentOut, READ_ERRORS: ErrorOut}, summary="An agent's current version")
def get_agent(request: HttpRequest, name: Path[AgentName]) -> dict[str, Any]:
    if not user_is_reviewer(user=request_user(request)):
        raise Forbidden("only reviewers and admins may read agents")
    return _agent_out(agent_current_version(name=name))


@router.patch(
    "/{name}",
    response={200: AgentOut, WRITE_ERRORS: ErrorOut},
    summary="Edit an agent (admin): creates a new version; running sessions keep theirs",
)
def update_agent(request: HttpRequest, name: Path[AgentName], payload: AgentPatch) -> dict[str, Any]:
    user = request_user(request)
    if not user_is_admin(user=user):
        raise Forbidden("only an admin may edit agents")
    changes = payload.model_dump(exclude_unset=True, exclude={"budgets", "loops"})
    if payload.budgets is not None:
        changes |= payload.budgets.model_dump(exclude_unset=True)
    if payload.loops is not None:
        changes |= _loop_fields(payload.loops)
    return _agent_out(agent_update(actor=user, name=name, **changes))


def _loop_fields(loops: LoopsIn) -> dict[str, Any]:
    names = {"threshold": "loop_threshold", "window": "loop_window", "repeat_limit": "repeat_limit"}
    return {names[key]: value for key, value in loops.model_dump(exclude_unset=True).items()}


def _agent_out(version: AgentVersion) -> dict[str, Any]:
    agent = version.agent
    threshold, window, repeat_limit = loop_settings(version)
    return {
        "name": agent.name,
        "version": version.number,
        "system_prompt": version.system_prompt,
        "model": version.model,
        "fallback_model": version.fallback_model,
        "tools": agent_version_tool_names(version=version),
        "budgets": {
            "max_tokens": version.max_tokens,
            "max_cost_usd": usd(version.max_cost_usd),
            "max_tool_calls": version.max_tool_calls,
            "max_iterations": version.max_iterations,
            "max_seconds": version.max_seconds,
        },
        "loops": {"threshold": threshold, "window": window, "repeat_limit": repeat_limit},
        "input_trust": version.input_trust,
        "created_at": agent.created_at,
        "version_created_at": version.created_at,
    }
