"""An agent's memories: admins write, list and delete them (the runtime writes with `remember`)."""

import uuid
from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Path, Query, Router, Schema
from ninja.responses import Status
from pydantic import Field, StringConstraints

from agents.api import request_user
from agents.api.schemas import NEXT_DOC, READ_ERRORS, WRITE_ERRORS, AgentName, ErrorOut, Input
from agents.memory.selectors import memories_of
from agents.memory.services import MAX_MEMORY_CHARS, MemoryAuthor, memory_create, memory_delete
from agents.models import Agent, Memory, Session
from agents.selectors import user_is_admin
from core.errors import Forbidden, NotFound
from core.pagination import PageQuery, next_link, page_of

router = Router(tags=["memories"])


class MemoryIn(Input):
    text: Annotated[str, StringConstraints(min_length=1, max_length=MAX_MEMORY_CHARS)]
    session: uuid.UUID | None = Field(default=None, description="keep it for this session only")


class MemoryOut(Schema):
    id: int
    text: str
    session: uuid.UUID | None
    task: uuid.UUID | None = Field(description="the task whose `remember` call wrote it")
    step_index: int | None
    provenance: str = Field(description="admin: every session may recall it; agent: only its end user's")
    end_user: str = Field(description="the end user whose session wrote it (provenance agent)")
    model: str
    created_at: datetime


class MemoryFilter(PageQuery):
    session: uuid.UUID | None = None


class MemoryPage(Schema):
    items: list[MemoryOut]
    next: str | None = Field(description=NEXT_DOC)


@router.post(
    "/{name}/memories", response={201: MemoryOut, WRITE_ERRORS: ErrorOut}, summary="Add a memory (admin)"
)
def create_memory(request: HttpRequest, name: Path[AgentName], payload: MemoryIn) -> Status[dict[str, Any]]:
    user = request_user(request)
    agent = _admin_agent(request, name)
    if payload.session is not None and not Session.objects.filter(pk=payload.session, agent=agent).exists():
        raise NotFound(f"agent {name!r} has no session {payload.session}", field="session")
    memory = memory_create(
        agent=agent, text=payload.text, author=MemoryAuthor.admin(user), session_id=payload.session
    )
    return Status(201, _memory_out(memory))


@router.get(
    "/{name}/memories",
    response={200: MemoryPage, READ_ERRORS: ErrorOut},
    summary="An agent's memories, newest first (admin)",
)
def list_memories(
    request: HttpRequest, name: Path[AgentName], filters: Query[MemoryFilter]
) -> dict[str, Any]:
    agent = _admin_agent(request, name)
    page = page_of(memories_of(agent_id=agent.pk, session_id=filters.session), filters)
    return {"items": [_memory_out(m) for m in page.items], "next": next_link(request, page.cursor)}


@router.delete(
    "/{name}/memories/{memory_id}",
    response={204: None, WRITE_ERRORS: ErrorOut},
    summary="Delete a memory (admin)",
)
def delete_memory(
    request: HttpRequest, name: Path[AgentName], memory_id: Path[Annotated[int, Field(ge=1, le=2**63 - 1)]]
) -> Status[None]:
    memory_delete(actor=request_user(request), agent=_admin_agent(request, name), memory_id=memory_id)
    return Status(204, None)


def _admin_agent(request: HttpRequest, name: str) -> Agent:
    if not user_is_admin(user=request_user(request)):
        raise Forbidden("only an admin may read or change memories")
    agent = Agent.objects.filter(name=name).first()
    if agent is None:
        raise NotFound(f"no agent named {name!r}", field="name")
    return agent


def _memory_out(memory: Memory) -> dict[str, Any]:
    return {
        "id": memory.pk,
        "text": memory.text,
        "session": memory.session_id,
        "task": memory.task_id,
        "step_index": memory.step_index,
        "provenance": memory.provenance,
        "end_user": memory.end_user,
        "model": memory.model,
        "created_at": memory.created_at,
    }
