"""POST /tools: an admin registers an HTTP tool."""

from django.http import HttpRequest
from ninja import Path, Router
from ninja.responses import Status

from agents.api import request_user
from agents.api.schemas import WRITE_ERRORS, ErrorOut, ToolIn, ToolName, ToolOut, ToolPatch
from agents.models import Tool
from agents.selectors import user_is_admin
from agents.services.catalog import tool_create, tool_injection_set
from core.errors import Forbidden

router = Router(tags=["tools"])


@router.post("", response={201: ToolOut, WRITE_ERRORS: ErrorOut}, summary="Register an HTTP tool (admin)")
def create_tool(request: HttpRequest, payload: ToolIn) -> Status[Tool]:
    if not user_is_admin(user=request_user(request)):
        raise Forbidden("only an admin may register tools")
    return Status(201, tool_create(**payload.model_dump()))


@router.patch(
    "/{name}",
    response={200: ToolOut, WRITE_ERRORS: ErrorOut},
    summary="Change a tool's trust and injection action (admin; docs/injection.md)",
)
def update_tool(request: HttpRequest, name: Path[ToolName], payload: ToolPatch) -> Tool:
    if not user_is_admin(user=request_user(request)):
        raise Forbidden("only an admin may change tools")
    return tool_injection_set(name=name, **payload.model_dump(exclude_unset=True))
