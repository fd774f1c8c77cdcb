"""Starting an undo: a new task in the session whose scripted model reply calls the compensations.

The undo task's playback (agents/runtime/playback.py) scripts two model replies and no tool
results: step 0 calls each compensation (the newest action's first), step 1 sums up. Its tools
run live, so each compensation is an ordinary tool call of the runtime: under the risk policy
(it may wait for approval), keyed for exactly-once by (task, step, call), traced and audited.
"""

import json
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from agents.models import Session, Task, Tool
from agents.providers.base import ChatResponse, ToolCall, Usage
from agents.runtime.serialize import response_to_json
from agents.selectors import user_is_reviewer
from agents.services.tasks import task_create
from agents.tools.compensation import compensation_arguments_evaluate
from approvals.models import ActionUndo
from approvals.undo.actions import ExecutedAction, session_actions
from core import clock
from core.audit_log import audit_record
from core.errors import Conflict, Forbidden, Invalid, NotFound

# Compensations one undo task runs: one model reply holds them all, and the session's tool-call
# guards apply to the undo task as to any task. Undo more in several undos.
MAX_ACTIONS_PER_UNDO = 50
# What the undo task's scripted replies say they came from (its model spans show it).
SCRIPT_MODEL = "undo-script"
SCRIPT_PROVIDER = "tollgate"


@dataclass(frozen=True)
class UndoStarted:
    task: Task
    undos: list[ActionUndo]  # in the order the compensations run


def undo_start(session: Session, *, by: User, action: str | None = None) -> UndoStarted:
    """Undo one executed action (`action`, its id) or all the session's executed reversible
    actions not undone yet, newest first. Reviewers and admins only.

    Raises NotFound for an unknown action, Conflict when there is nothing (left) to undo or
    another undo took the action first, Invalid when a compensation's arguments cannot be
    computed. One ActionUndo per original call (a unique constraint) decides between two
    undos racing: the loser's whole transaction, its task included, is rolled back.
    """
    if not user_is_reviewer(user=by):
        raise Forbidden("only reviewers and admins may undo actions")
    listing = session_actions(session)
    targets = _targets(listing.actions, action)
    targets.reverse()  # the listing is oldest first: the newest action is undone first
    if len(targets) > MAX_ACTIONS_PER_UNDO:
        raise Invalid(
            f"{len(targets)} actions to undo; one undo runs at most {MAX_ACTIONS_PER_UNDO}: "
            "undo them one at a time",
            field="action",
        )
    calls = []
    for index, target in enumerate(targets):
        tool = Tool.objects.select_related("compensation").filter(name=target.tool).first()
        if tool is None or tool.compensation is None:  # changed since the listing
            raise Conflict(f"{target.tool} has no compensating tool any more", field="action")
        call = compensation_arguments_evaluate(
            tool=tool, compensation=tool.compensation, args=target.arguments, result=target.result
        )
        if call.arguments is None:
            raise Invalid(
                f"the arguments of {call.tool} for action {target.id} could not be computed: {call.error}",
                field="action",
            )
        raw = json.dumps(call.arguments, sort_keys=True)
        calls.append(
            ToolCall(id=f"undo_{index}", name=call.tool, arguments=call.arguments, raw_arguments=raw)
        )
    now = clock.now()
    with transaction.atomic():
        task = task_create(
            session=session,
            owner=by,
            input=_input(targets),
            playback={
                "model_replies": [_reply(calls, content=""), _reply([], content=_summary(targets, calls))]
            },
        )
        undos = [
            _undo_claim(target, call, task=task, index=index, by=by, now=now)
            for index, (target, call) in enumerate(zip(targets, calls, strict=True))
        ]
        audit_record(
            actor=by,
            action="session.undo_started",
            object_type="session",
            object_id=str(session.pk),
            after={
                "undo_task": str(task.pk),
                "actions": [
                    {"action": t.id, "tool": t.tool, "compensation": c.name, "arguments": c.arguments}
                    for t, c in zip(targets, calls, strict=True)
                ],
            },
        )
    return UndoStarted(task=task, undos=undos)


def _targets(actions: list[ExecutedAction], wanted: str | None) -> list[ExecutedAction]:
    if wanted is None:
        targets = [a for a in actions if a.may_undo]
        if not targets:
            raise Conflict("this session has no executed reversible action left to undo")
        return targets
    found = next((a for a in actions if a.id == wanted), None)
    if found is None:
        raise NotFound(f"no executed action {wanted[:120]} in this session", field="action")
    if found.compensates is not None:
        raise Conflict(f"action {found.id} is itself the undo of {found.compensates}", field="action")
    if found.irreversible_reason:
        raise Conflict(f"action {found.id} is irreversible: {found.irreversible_reason}", field="action")
    if not found.may_undo:
        raise Conflict(f"action {found.id} is already {found.state}", field="action")
    return [found]


def _undo_claim(
    target: ExecutedAction, call: ToolCall, *, task: Task, index: int, by: User, now: datetime
) -> ActionUndo:
    """This undo's row for the action: a new one, or a failed one taken over for a retry."""
    fields = {
        "tool_name": target.tool,
        "compensation_tool": call.name,
        "arguments": call.arguments,
        "undo_task": task,
        "undo_call_index": index,
        "status": ActionUndo.Status.PENDING,
        "error": "",
        "requested_by": by,
        "created_at": now,
        "settled_at": None,
    }
    position = {"task_id": target.task_id, "step_index": target.step_index, "call_index": target.call_index}
    try:
        with transaction.atomic():
            return ActionUndo.objects.create(**position, **fields)
    except IntegrityError:
        pass
    retried = ActionUndo.objects.filter(**position, status=ActionUndo.Status.FAILED).update(**fields)
    if not retried:
        raise Conflict(f"action {target.id} is already being undone or was undone", field="action")
    return ActionUndo.objects.get(**position)


def _reply(calls: list[ToolCall], *, content: str) -> dict[str, object]:
    return response_to_json(
        ChatResponse(
            content=content,
            tool_calls=calls,
            usage=Usage(),
            model=SCRIPT_MODEL,
            provider=SCRIPT_PROVIDER,
            finish_reason="tool_calls" if calls else "stop",
            latency_ms=0.0,
        )
    )


def _input(targets: list[ExecutedAction]) -> str:
    if len(targets) == 1:
        return f"Undo {targets[0].tool} (action {targets[0].id})"
    return f"Undo the session's {len(targets)} executed actions, newest first"


def _summary(targets: list[ExecutedAction], calls: list[ToolCall]) -> str:
    done = "; ".join(
        f"{call.name} {json.dumps(call.arguments, sort_keys=True)} for {target.tool} ({target.id})"
        for target, call in zip(targets, calls, strict=True)
    )
    return f"Ran the compensations: {done}. Each one's outcome is its tool result above."
