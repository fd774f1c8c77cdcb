"""GET /sessions/{id}/actions and POST /sessions/{id}/undo: reviewers and admins undo what an agent did."""

import uuid
from typing import Any

from django.http import HttpRequest
from ninja import Router
from ninja.responses import Status

from agents.api import request_user
from agents.api.schemas import READ_ERRORS, WRITE_ERRORS, ErrorOut
from agents.selectors import session_get_visible, user_is_reviewer
from approvals.api.undo_schemas import SessionActionsOut, UndoIn, UndoStartedOut
from approvals.models import ActionUndo
from approvals.undo.actions import ExecutedAction, session_actions
from approvals.undo.start import undo_start
from core.errors import Forbidden

router = Router(tags=["undo"])


@router.get(
    "/{session_id}/actions",
    response={200: SessionActionsOut, READ_ERRORS: ErrorOut},
    summary="The session's executed actions and whether each can be undone (reviewers)",
)
def list_actions(request: HttpRequest, session_id: uuid.UUID) -> dict[str, Any]:
    user = request_user(request)
    if not user_is_reviewer(user=user):
        raise Forbidden("only reviewers and admins may read a session's executed actions")
    listing = session_actions(session_get_visible(session_id=session_id, user=user, is_reviewer=True))
    return {
        "items": [executed_action_as_dict(action) for action in listing.actions],
        "irreversible": len(listing.irreversible),
        "truncated": listing.truncated,
    }


@router.post(
    "/{session_id}/undo",
    response={202: UndoStartedOut, WRITE_ERRORS: ErrorOut},
    summary="Undo one executed action, or all of them newest first, through their compensations (reviewers)",
)
def undo(request: HttpRequest, session_id: uuid.UUID, payload: UndoIn) -> Status[dict[str, Any]]:
    user = request_user(request)
    if not user_is_reviewer(user=user):
        raise Forbidden("only reviewers and admins may undo actions")
    started = undo_start(
        session_get_visible(session_id=session_id, user=user, is_reviewer=True),
        by=user,
        action=payload.action,
    )
    return Status(
        202,
        {
            "task": started.task.pk,
            "status": started.task.status,
            "actions": [f"{u.task_id}:{u.step_index}:{u.call_index}" for u in started.undos],
        },
    )


def executed_action_as_dict(action: ExecutedAction) -> dict[str, Any]:
    return {
        "id": action.id,
        "task": action.task_id,
        "step_index": action.step_index,
        "call_index": action.call_index,
        "tool": action.tool,
        "arguments": action.arguments,
        "result": action.result,
        "executed_at": action.executed_at,
        "action_request": action.action_request,
        "state": action.state,
        "reversible": action.reversible,
        "compensation": action.compensation,
        "irreversible_reason": action.irreversible_reason,
        "compensates": action.compensates,
        "undo": _undo_as_dict(action.undo) if action.undo is not None else None,
    }


def _undo_as_dict(undo: ActionUndo) -> dict[str, Any]:
    return {
        "status": undo.status,
        "undo_task": undo.undo_task_id,
        "compensation": undo.compensation_tool,
        "arguments": undo.arguments,
        "error": undo.error,
        "requested_by": undo.requested_by.get_username() if undo.requested_by else None,
        "created_at": undo.created_at,
        "settled_at": undo.settled_at,
    }
