"""POST /tools: an admin registers an HTTP tool."""

from django.http import HttpRequest
from ninja import Router
from ninja.responses import Status

from agents.api import request_user
from agents.api.schemas import WRITE_ERRORS, ErrorOut, ToolIn, ToolOut
from agents.models import Tool
from agents.selectors import user_is_admin
from agents.services.catalog import tool_create
from core.errors import Forbidden

router = Router(tags=["tools"])


@router.post("", response={201: ToolOut, WRITE_ERRORS: ErrorOut}, summary="Register an HTTP tool (admin)")
def create_tool(request: HttpRequest, payload: ToolIn) -> Status[Tool]:
    if not user_is_admin(user=request_user(request)):
        raise Forbidden("only an admin may register tools")
    return Status(201, tool_create(**payload.model_dump()))
