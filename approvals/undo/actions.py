"""A session's executed actions: what its agent did that had an effect, and whether it can be undone.

An action is a tool call that ran and succeeded:
- a call the risk policy held (tier above low) whose action request was `executed`: its
  arguments are the request's (as a reviewer may have edited them), its result the request's;
- a call that ran at once (tier low) to a tool that names a compensation: its arguments and
  result as the step stored them. Other low calls are reads (the policy's low tier is "read a
  record, search") and are not listed.
Calls made by undo tasks are listed as the compensations they are (`compensates`), never as
irreversible actions of their own.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q

from agents.models import Session, Step, Task, Tool
from approvals.models import ActionRequest, ActionUndo
from core import clock

# A session's steps read for one listing: far more than any real session makes (a task stops at
# its agent's max_iterations), and still one bounded read. Beyond it the listing says so.
MAX_STEPS_READ = 5_000


@dataclass(frozen=True)
class ExecutedAction:
    id: str  # "<task id>:<step index>:<call index>"
    task_id: uuid.UUID
    step_index: int
    call_index: int
    tool: str
    arguments: dict[str, Any]
    result: dict[str, Any]
    executed_at: datetime | None
    action_request: uuid.UUID | None
    compensation: str | None  # the compensating tool's name, when it can be undone
    irreversible_reason: str  # empty when it can be undone
    undo: ActionUndo | None  # its undo, once one was started
    compensates: str | None  # for a call of an undo task: the action it undoes

    @property
    def reversible(self) -> bool:
        return not self.irreversible_reason and self.compensates is None

    @property
    def state(self) -> str:
        """executed | undoing | undone | undo_failed | compensation"""
        if self.compensates is not None:
            return "compensation"
        if self.undo is None:
            return "executed"
        return {
            ActionUndo.Status.PENDING: "undoing",
            ActionUndo.Status.UNDONE: "undone",
            ActionUndo.Status.FAILED: "undo_failed",
        }[ActionUndo.Status(self.undo.status)]

    @property
    def may_undo(self) -> bool:
        return self.reversible and self.state in ("executed", "undo_failed")


@dataclass(frozen=True)
class SessionActions:
    actions: list[ExecutedAction]  # oldest first
    truncated: bool  # the session has more steps than one listing reads

    @property
    def irreversible(self) -> list[ExecutedAction]:
        return [a for a in self.actions if a.compensates is None and a.irreversible_reason]

    @property
    def undoable(self) -> list[ExecutedAction]:
        return [a for a in self.actions if a.may_undo]


def action_id(task_id: uuid.UUID | str, step_index: int, call_index: int) -> str:
    return f"{task_id}:{step_index}:{call_index}"


def session_actions(session: Session) -> SessionActions:
    """The session's executed actions, oldest first, in a fixed number of queries. Undos whose
    task has ended are settled first (undos_settle), so every state shown is current."""
    task_ids = list(
        Task.objects.filter(session=session).order_by("created_at", "pk").values_list("pk", flat=True)
    )
    undos_settle(task_ids=task_ids)
    order = {task_id: position for position, task_id in enumerate(task_ids)}
    steps = list(
        Step.objects.filter(task_id__in=task_ids)
        .exclude(tool_results=[])
        .only("task_id", "index", "response", "tool_results", "finished_at")
        .order_by("-started_at")[: MAX_STEPS_READ + 1]
    )
    truncated = len(steps) > MAX_STEPS_READ
    steps = sorted(steps[:MAX_STEPS_READ], key=lambda step: (order[step.task_id], step.index))
    requests = {
        (r.task_id, r.step_index, r.call_index): r
        for r in ActionRequest.objects.filter(task_id__in=task_ids).only(
            "task_id", "step_index", "call_index", "status", "arguments", "result", "executed_at"
        )
    }
    undos = list(
        ActionUndo.objects.filter(Q(task_id__in=task_ids) | Q(undo_task_id__in=task_ids)).select_related(
            "requested_by"
        )
    )
    undo_of = {(u.task_id, u.step_index, u.call_index): u for u in undos}
    compensation_of = {
        (u.undo_task_id, 0, u.undo_call_index): action_id(u.task_id, u.step_index, u.call_index)
        for u in undos
    }
    calls = [(step, call_index, call) for step in steps for call_index, call in enumerate(_calls(step))]
    tools = {
        tool.name: tool
        for tool in Tool.objects.filter(name__in={call["name"] for _, _, call in calls}).select_related(
            "compensation"
        )
    }
    listed = set(session.agent_version.tools.values_list("name", flat=True))
    actions = []
    for step, call_index, call in calls:
        key = (step.task_id, step.index, call_index)
        request = requests.get(key)
        tool = tools.get(call["name"])
        if request is not None:
            if request.status != ActionRequest.Status.EXECUTED:
                continue
            arguments, result, executed_at = request.arguments, request.result or {}, request.executed_at
        else:
            result = step.tool_results[call_index] if call_index < len(step.tool_results) else {}
            reversible_effect = tool is not None and tool.compensation is not None
            if result.get("status") != "success" or not (reversible_effect or key in compensation_of):
                continue
            arguments, executed_at = call.get("arguments") or {}, step.finished_at
        actions.append(
            ExecutedAction(
                id=action_id(*key),
                task_id=step.task_id,
                step_index=step.index,
                call_index=call_index,
                tool=call["name"],
                arguments=arguments,
                result=result,
                executed_at=executed_at,
                action_request=request.id if request is not None else None,
                compensation=tool.compensation.name if tool is not None and tool.compensation else None,
                irreversible_reason=_irreversible_reason(tool, call["name"], listed),
                undo=undo_of.get(key),
                compensates=compensation_of.get(key),
            )
        )
    return SessionActions(actions=actions, truncated=truncated)


def _calls(step: Step) -> list[dict[str, Any]]:
    calls = (step.response or {}).get("tool_calls") or []
    return [call for call in calls if isinstance(call, dict) and isinstance(call.get("name"), str)]


def _irreversible_reason(tool: Tool | None, name: str, listed: set[str]) -> str:
    if tool is None:
        return f"the tool {name} no longer exists"
    if tool.compensation is None:
        return f"{name} names no compensating tool"
    if tool.compensation.name not in listed:
        return f"the session's agent version does not list {tool.compensation.name}, which undoes {name}"
    return ""


def undos_settle(*, task_ids: list[uuid.UUID]) -> int:
    """Settle the pending undos of these sessions' tasks whose undo task has ended: undone when
    the compensating call succeeded, failed (with its error) otherwise. Each is a conditional
    update from pending, so two settlers, or a settler and a retry, never both apply."""
    pending = list(
        ActionUndo.objects.filter(
            Q(task_id__in=task_ids) | Q(undo_task_id__in=task_ids),
            status=ActionUndo.Status.PENDING,
            undo_task__status__in=Task.FINAL_STATUSES,
        ).select_related("undo_task")
    )
    if not pending:
        return 0
    first_steps = {
        step.task_id: step.tool_results
        for step in Step.objects.filter(task_id__in={u.undo_task_id for u in pending}, index=0).only(
            "task_id", "tool_results"
        )
    }
    now = clock.now()
    settled = 0
    for undo in pending:
        results = first_steps.get(undo.undo_task_id) or []
        result = results[undo.undo_call_index] if undo.undo_call_index < len(results) else None
        if isinstance(result, dict) and result.get("status") == "success":
            status, error = ActionUndo.Status.UNDONE, ""
        elif isinstance(result, dict):
            status, error = ActionUndo.Status.FAILED, str(result.get("message") or "the compensation failed")
        else:
            task = undo.undo_task
            status = ActionUndo.Status.FAILED
            error = f"the undo task ended {task.status} before the compensation ran"
            if task.stop_detail:
                error += f": {task.stop_detail}"
        settled += ActionUndo.objects.filter(pk=undo.pk, status=ActionUndo.Status.PENDING).update(
            status=status, error=error[:2000], settled_at=now
        )
    return settled
