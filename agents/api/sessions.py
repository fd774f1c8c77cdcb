"""Sessions: read-only; their owner sees them, reviewers and admins see all."""

import uuid
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from agents.api import request_user
from agents.api.schemas import READ_ERRORS, ErrorOut, SessionFilter, SessionOut, SessionPage
from agents.models import Session
from agents.selectors import session_get_visible, sessions_visible
from core.pagination import next_link, page_of

router = Router(tags=["sessions"])


@router.get(
    "", response={200: SessionPage, READ_ERRORS: ErrorOut}, summary="Sessions you may see, newest first"
)
def list_sessions(request: HttpRequest, filters: Query[SessionFilter]) -> dict[str, Any]:
    sessions = sessions_visible(user=request_user(request)).select_related("agent", "agent_version", "owner")
    if filters.agent:
        sessions = sessions.filter(agent__name=filters.agent)
    if filters.user is not None:
        sessions = sessions.filter(end_user=filters.user)
    page = page_of(sessions, filters)
    return {
        "items": [_session_out(session) for session in page.items],
        "next": next_link(request, page.cursor),
    }


@router.get("/{session_id}", response={200: SessionOut, READ_ERRORS: ErrorOut}, summary="One session")
def get_session(request: HttpRequest, session_id: uuid.UUID) -> dict[str, Any]:
    return _session_out(session_get_visible(session_id=session_id, user=request_user(request)))


def _session_out(session: Session) -> dict[str, Any]:
    return {
        "id": session.id,
        "agent": session.agent.name,
        "agent_version": session.agent_version.number,
        "user": session.end_user,
        "owner": session.owner.get_username(),
        "rollout": session.rollout_id,
        "rollout_arm": session.rollout_arm,
        "created_at": session.created_at,
        "updated_at": session.updated_at,
    }
