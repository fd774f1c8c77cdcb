"""A person records what happened to a call whose outcome is unknown.

A call to a tool that may see it at most once was sent, and its worker died before the answer
was recorded (agents/tools/at_most_once.py): it is never sent again. Its action request waits
in the queue as outcome_unknown, showing the request that was sent, until a reviewer who
checked with the tool's owner records it done (with what the tool did) or not done. The model
is told only that record; the task then carries on.
"""

import json
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from agents.services.tasks import task_resume
from agents.tools.result import ToolResult
from approvals.audit import audit_append
from approvals.live import action_request_publish
from approvals.models import ActionRequest
from approvals.selectors import user_may_review
from approvals.services import MAX_COMMENT_CHARS
from core import clock
from core.errors import Conflict, Forbidden, Invalid

Status = ActionRequest.Status
# What a person may record as the tool's result: the model reads it, so it is bounded.
MAX_RESULT_CHARS = 20_000


def action_request_outcome_record(
    *, action_request: ActionRequest, actor: User, done: bool, result: Any = None, note: str = ""
) -> ActionRequest:
    """outcome_unknown → executed (with `result`, what the tool did) or not_done; audited.

    Idempotent per person: the same record twice is answered with the request as it is.
    """
    if not isinstance(done, bool):
        raise Invalid("done must be true or false", field="done")
    if len(note) > MAX_COMMENT_CHARS:
        raise Invalid(f"note must be at most {MAX_COMMENT_CHARS} characters", field="note")
    if not done and result is not None:
        raise Invalid("a call that did not happen has no result", field="result")
    try:
        size = len(json.dumps(result))
    except (TypeError, ValueError) as exc:
        raise Invalid("result must be JSON", field="result") from exc
    if size > MAX_RESULT_CHARS:
        raise Invalid(f"result must be at most {MAX_RESULT_CHARS} characters of JSON", field="result")
    if not user_may_review(user=actor, reviewer_group=action_request.reviewer_group):
        raise Forbidden(f"only reviewers in {action_request.reviewer_group!r} may record this outcome")
    target = Status.EXECUTED if done else Status.NOT_DONE
    with transaction.atomic():
        # Race: two people recording at once; the row lock and the status check let one win.
        request = ActionRequest.objects.select_for_update().get(pk=action_request.pk)
        if request.status != Status.OUTCOME_UNKNOWN:
            if request.status == target and request.outcome_by_id == actor.pk:
                return request
            raise Conflict(f"this request is {request.status}, not outcome_unknown")
        stored = None
        if done:
            who = actor.get_username()
            stored = ToolResult.success(
                result, message=f"The answer was lost; {who} checked and recorded that the call took effect."
            ).as_dict()
        now = clock.now()
        ActionRequest.objects.filter(pk=request.pk, status=Status.OUTCOME_UNKNOWN).update(
            status=target, result=stored, outcome_by=actor, outcome_note=note, executed_at=now
        )
        audit_append(
            actor=actor,
            action="request.outcome_recorded",
            object_type="action_request",
            object_id=str(request.pk),
            before={"status": Status.OUTCOME_UNKNOWN, "sent": request.sent_request},
            after={"status": target, "result": result, "note": note},
        )
        task_resume(task_id=request.task_id)
        action_request_publish(request_id=request.pk, event="decided")
    request.refresh_from_db()
    return request
