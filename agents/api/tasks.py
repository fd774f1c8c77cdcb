"""Tasks: submit (idempotently), read with usage and steps, cancel."""

import uuid
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Path, Query, Router
from ninja.responses import Status
from pydantic import Field

from agents.api import request_user
from agents.api.schemas import (
    PG_INT_MAX,
    READ_ERRORS,
    WRITE_ERRORS,
    ErrorOut,
    StepOut,
    StepPage,
    TaskAccepted,
    TaskFilter,
    TaskIn,
    TaskOut,
    TaskPage,
    usd,
)
from agents.models import Step, Task
from agents.selectors import task_get_visible, task_steps, tasks_visible, user_is_admin
from agents.services.tasks import task_cancel, task_submit
from core.errors import Forbidden, NotFound
from core.pagination import PageQuery, next_link, page_of

router = Router(tags=["tasks"])
SUMMARY_FIELDS = (
    *("id", "session", "status", "input", "result", "partial", "stop_reason", "stop_detail"),
    *("input_tokens", "output_tokens", "cached_input_tokens", "cost_usd", "tool_calls"),
    *("created_at", "started_at", "finished_at"),
    *("session__end_user", "session__agent__name", "session__agent_version__number"),
)


@router.post(
    "",
    response={200: TaskAccepted, 202: TaskAccepted, WRITE_ERRORS: ErrorOut},
    summary="Submit a task: 202 when created, 200 when the idempotency key returned an earlier one",
)
def submit_task(request: HttpRequest, payload: TaskIn) -> Status[dict[str, Any]]:
    task, created = task_submit(
        owner=request_user(request),
        agent_name=payload.agent,
        input=payload.input,
        session_id=payload.session,
        end_user=payload.user,
        idempotency_key=payload.idempotency_key,
    )
    return Status(202 if created else 200, {"id": task.id, "session": task.session_id, "status": task.status})


@router.get(
    "",
    response={200: TaskPage, READ_ERRORS: ErrorOut},
    summary="Tasks, newest first: your own, or every one for reviewers and admins",
)
def list_tasks(request: HttpRequest, filters: Query[TaskFilter]) -> dict[str, Any]:
    tasks = tasks_visible(user=request_user(request))
    if filters.status:
        tasks = tasks.filter(status=filters.status)
    if filters.agent:
        tasks = tasks.filter(session__agent__name=filters.agent)
    if filters.session:
        tasks = tasks.filter(session_id=filters.session)
    if filters.user is not None:
        tasks = tasks.filter(session__end_user=filters.user)
    # Only what a summary shows: a page is 51 rows of four models, and the agent version's
    # prompt or the task's messages would be read and built 51 times for nothing.
    page = page_of(tasks.only(*SUMMARY_FIELDS), filters)
    return {"items": [task_summary(task) for task in page.items], "next": next_link(request, page.cursor)}


@router.get(
    "/{task_id}",
    response={200: TaskOut, READ_ERRORS: ErrorOut},
    summary="A task's status, result, usage and steps (its owner, reviewers, admins)",
)
def get_task(request: HttpRequest, task_id: uuid.UUID) -> dict[str, Any]:
    task = task_get_visible(task_id=task_id, user=request_user(request))
    return task_out(task, task_steps(task=task))


@router.get(
    "/{task_id}/steps",
    response={200: StepPage, READ_ERRORS: ErrorOut},
    summary="A task's steps a page at a time, newest first (`order=oldest` for index order)",
)
def list_steps(request: HttpRequest, task_id: uuid.UUID, page_query: Query[PageQuery]) -> dict[str, Any]:
    task = task_get_visible(task_id=task_id, user=request_user(request))
    # A step's started_at grows with its index, so the cursor's (started_at, id) order is index order.
    page = page_of(Step.objects.filter(task=task), page_query, created_field="started_at")
    return {"items": [_step_out(step) for step in page.items], "next": next_link(request, page.cursor)}


@router.get(
    "/{task_id}/steps/{index}",
    response={200: StepOut, READ_ERRORS: ErrorOut},
    summary="One step of a task: its model call and the tool calls it asked for",
)
def get_step(
    request: HttpRequest, task_id: uuid.UUID, index: Path[Annotated[int, Field(ge=0, le=PG_INT_MAX)]]
) -> dict[str, Any]:
    task = task_get_visible(task_id=task_id, user=request_user(request))
    step = Step.objects.filter(task=task, index=index).first()
    if step is None:
        raise NotFound(f"task {task_id} has no step {index}", field="index")
    return _step_out(step)


@router.post(
    "/{task_id}/cancel",
    response={200: TaskOut, WRITE_ERRORS: ErrorOut},
    summary="Cancel a task (its owner, admins); a running one stops at its next step",
)
def cancel_task(request: HttpRequest, task_id: uuid.UUID) -> dict[str, Any]:
    user = request_user(request)
    task = task_get_visible(task_id=task_id, user=user)
    # A reviewer may read the task, so a 403 here reveals nothing a 404 would hide.
    if task.owner_id != user.pk and not user_is_admin(user=user):
        raise Forbidden("only the task's owner or an admin may cancel it")
    task = task_cancel(task=task, actor=user)
    return task_out(task, task_steps(task=task))


def task_out(task: Task, steps: list[Step]) -> dict[str, Any]:
    return {**task_summary(task), "steps": [_step_out(step) for step in steps]}


def task_summary(task: Task) -> dict[str, Any]:
    session = task.session
    ended = task.finished_at
    return {
        "id": task.id,
        "agent": session.agent.name,
        "agent_version": session.agent_version.number,
        "session": session.id,
        "user": session.end_user,
        "status": task.status,
        "input": task.input,
        "result": task.result,
        "partial": task.partial,
        "stop_reason": task.stop_reason,
        "stop_detail": task.stop_detail,
        "usage": {
            "input_tokens": task.input_tokens,
            "output_tokens": task.output_tokens,
            "cached_input_tokens": task.cached_input_tokens,
            "cost_usd": usd(task.cost_usd),
            "tool_calls": task.tool_calls,
        },
        "created_at": task.created_at,
        "started_at": task.started_at,
        "finished_at": ended,
        "duration_s": round((ended - task.created_at).total_seconds(), 3) if ended else None,
    }


def _step_out(step: Step) -> dict[str, Any]:
    # Step.response is the stored ChatResponse; tool_results fill in, in call order, when the step completes.
    calls = step.response.get("tool_calls", [])
    results = step.tool_results + [None] * (len(calls) - len(step.tool_results))
    return {
        "index": step.index,
        "status": step.status,
        "model": step.model,
        "content": step.response.get("content", ""),
        "input_tokens": step.input_tokens,
        "output_tokens": step.output_tokens,
        "cached_input_tokens": step.cached_input_tokens,
        "cost_usd": usd(step.cost_usd),
        "model_latency_ms": step.model_latency_ms,
        "tool_calls": [
            {
                "id": call["id"],
                "name": call["name"],
                "arguments": call["arguments"]
                if call.get("arguments") is not None
                else call.get("raw_arguments"),
                "result": result,
            }
            for call, result in zip(calls, results, strict=False)
        ],
        "started_at": step.started_at,
        "finished_at": step.finished_at,
    }
