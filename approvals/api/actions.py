"""The gate API for agents that run elsewhere: ask, wait for the decision, report the outcome."""

import uuid
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router
from ninja.responses import Status

from agents.api import request_user
from agents.api.schemas import READ_ERRORS, WRITE_ERRORS, ErrorOut
from approvals.api.action_schemas import ActionIn, ActionOut, ResultIn, WaitQuery
from approvals.external.answer import external_action_answer, external_action_load
from approvals.external.report import external_action_report
from approvals.external.submit import ActionAsk, external_action_submit
from approvals.external.waiting import external_action_wait
from core.errors import NotFound

router = Router(tags=["gate"])


@router.post(
    "",
    response={200: ActionOut, 201: ActionOut, WRITE_ERRORS: ErrorOut},
    summary="Ask before a tool call: allow, pending (with the request's clock) or deny",
)
def ask(request: HttpRequest, payload: ActionIn) -> Status[dict[str, Any]]:
    action, created = external_action_submit(
        owner=request_user(request),
        ask=ActionAsk(
            agent=payload.agent,
            session=payload.session,
            tool=payload.tool,
            arguments=payload.arguments,
            reasoning=payload.reasoning,
            idempotency_key=payload.idempotency_key,
            context=payload.context or {},
            callback_url=payload.callback_url or "",
        ),
    )
    return Status(201 if created else 200, external_action_answer(action))


@router.get(
    "/{action_id}",
    response={200: ActionOut, READ_ERRORS: ErrorOut},
    summary="The decision; ?wait=S long-polls up to S seconds (at most 60) while it is pending",
)
async def answer(request: HttpRequest, action_id: uuid.UUID, query: Query[WaitQuery]) -> dict[str, Any]:
    return await external_action_wait(owner=request_user(request), action_id=action_id, wait_s=query.wait)


@router.post(
    "/{action_id}/result",
    response={200: ActionOut, WRITE_ERRORS: ErrorOut},
    summary="Report the outcome of an allowed action, once (a second report: 409)",
)
def report(request: HttpRequest, action_id: uuid.UUID, payload: ResultIn) -> dict[str, Any]:
    action = external_action_load(action_id=action_id)
    if action is None or action.owner_id != request_user(request).pk:
        raise NotFound(f"no action {action_id}")
    reported = external_action_report(
        action=action,
        token=payload.execution_token,
        outcome=payload.status,
        result=payload.result,
        duration_ms=payload.duration_ms,
    )
    return external_action_answer(reported)
