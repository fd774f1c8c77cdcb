"""Tools: admins register, change and delete HTTP tools; reviewers and admins read them."""

from typing import Any

from django.http import HttpRequest
from ninja import Path, Query, Router
from ninja.responses import Status

from agents.api import request_user
from agents.api.schemas import (
    READ_ERRORS,
    WRITE_ERRORS,
    ErrorOut,
    ToolFilter,
    ToolIn,
    ToolName,
    ToolOut,
    ToolPage,
    ToolPatch,
)
from agents.models import Tool
from agents.selectors import tool_get, user_is_admin, user_is_reviewer
from agents.services.catalog import tool_create, tool_delete, tool_update
from core.errors import Forbidden
from core.pagination import next_link, page_of

router = Router(tags=["tools"])


@router.post("", response={201: ToolOut, WRITE_ERRORS: ErrorOut}, summary="Register an HTTP tool (admin)")
def create_tool(request: HttpRequest, payload: ToolIn) -> Status[Tool]:
    return Status(201, tool_create(actor=_admin(request), **payload.model_dump()))


@router.get(
    "", response={200: ToolPage, READ_ERRORS: ErrorOut}, summary="The tools, newest first (reviewers)"
)
def list_tools(request: HttpRequest, filters: Query[ToolFilter]) -> dict[str, Any]:
    _reviewer(request)
    tools = Tool.objects.select_related("compensation")
    if filters.risk_tier:
        tools = tools.filter(risk_tier=filters.risk_tier)
    if filters.kind:
        tools = tools.filter(kind=filters.kind)
    page = page_of(tools, filters)
    return {"items": page.items, "next": next_link(request, page.cursor)}


@router.get("/{name}", response={200: ToolOut, READ_ERRORS: ErrorOut}, summary="One tool (reviewers)")
def get_tool(request: HttpRequest, name: Path[ToolName]) -> Tool:
    _reviewer(request)
    return tool_get(name=name)


@router.patch(
    "/{name}",
    response={200: ToolOut, WRITE_ERRORS: ErrorOut},
    summary="Change a tool's fields, trust or injection action (admin; a Python tool: trust only)",
)
def update_tool(request: HttpRequest, name: Path[ToolName], payload: ToolPatch) -> Tool:
    return tool_update(actor=_admin(request), name=name, **payload.model_dump(exclude_unset=True))


@router.delete(
    "/{name}",
    response={204: None, WRITE_ERRORS: ErrorOut},
    summary="Delete an HTTP tool no agent version lists (admin)",
)
def delete_tool(request: HttpRequest, name: Path[ToolName]) -> Status[None]:
    tool_delete(actor=_admin(request), name=name)
    return Status(204, None)


def _admin(request: HttpRequest) -> Any:
    user = request_user(request)
    if not user_is_admin(user=user):
        raise Forbidden("only an admin may register or change tools")
    return user


def _reviewer(request: HttpRequest) -> None:
    if not user_is_reviewer(user=request_user(request)):
        raise Forbidden("only reviewers and admins may read tools")
