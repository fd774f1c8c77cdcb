"""Reads behind the REST API and the console: who may see what, tasks with their steps, traces.

Each read runs a fixed number of queries, however many steps or spans a task has.
"""

import uuid
from dataclasses import dataclass

from django.contrib.auth.models import AbstractUser
from django.db.models import Q, QuerySet

from agents.models import Agent, AgentVersion, Session, Step, Task, Tool
from core.errors import Invalid, NotFound
from tracing.models import Span, Trace

REVIEWERS_GROUP = "reviewers"


def user_is_admin(*, user: AbstractUser) -> bool:
    return user.is_active and user.is_staff


def user_is_reviewer(*, user: AbstractUser) -> bool:
    if user_is_admin(user=user):
        return True
    return user.is_active and user.groups.filter(name=REVIEWERS_GROUP).exists()


def sessions_visible(*, user: AbstractUser, is_reviewer: bool | None = None) -> QuerySet[Session]:
    """Every session for reviewers and admins; a user's own otherwise (as tasks below).
    `is_reviewer`: user_is_reviewer's answer, when the caller has it already (saves a query)."""
    sessions = Session.objects.all()
    if is_reviewer is None:
        is_reviewer = user_is_reviewer(user=user)
    return sessions if is_reviewer else sessions.filter(owner_id=user.pk)


def session_get_visible(
    *, session_id: uuid.UUID, user: AbstractUser, is_reviewer: bool | None = None
) -> Session:
    """The session if `user` may see it; anyone else is told it does not exist."""
    sessions = sessions_visible(user=user, is_reviewer=is_reviewer).select_related(
        "agent", "agent_version", "owner"
    )
    session = sessions.filter(pk=session_id).first()
    if session is None:
        raise NotFound(f"no session {session_id}")
    return session


def tasks_visible(*, user: AbstractUser) -> QuerySet[Task]:
    tasks = Task.objects.select_related("session__agent", "session__agent_version")
    return tasks if user_is_reviewer(user=user) else tasks.filter(owner_id=user.pk)


def task_get_visible(*, task_id: uuid.UUID, user: AbstractUser) -> Task:
    """The task if `user` may read it: its owner, a reviewer or an admin.

    Anyone else is told it does not exist, so task ids cannot be probed.
    """
    task = Task.objects.select_related("session__agent", "session__agent_version").filter(pk=task_id).first()
    if task is None or (task.owner_id != user.pk and not user_is_reviewer(user=user)):
        raise NotFound(f"no task {task_id}")
    return task


def task_steps(*, task: Task) -> list[Step]:
    return list(Step.objects.filter(task=task).order_by("index"))


def tool_get(*, name: str) -> Tool:
    tool = Tool.objects.filter(name=name).first()
    if tool is None:
        raise NotFound(f"no tool named {name!r}", field="name")
    return tool


def agent_current_version(*, name: str) -> AgentVersion:
    """The version an agent runs now, with its agent, in one query."""
    agent = Agent.objects.select_related("current_version").filter(name=name).first()
    if agent is None or agent.current_version is None:
        raise NotFound(f"no agent named {name!r}", field="name")
    version = agent.current_version
    version.agent = agent
    return version


@dataclass(frozen=True)
class TracePage:
    trace_id: str | None
    spans: list[Span]
    next_after: str | None


def task_trace_page(*, task: Task, after: str | None, limit: int) -> TracePage:
    """Up to `limit` spans of the task's trace in start order, after the span `after`.

    Keyset pagination on (started_at, id), the span index's order, so a page costs the
    same at span 10,000 as at span 1; `after` is the span_id of the previous page's last span.
    """
    trace = Trace.objects.filter(task=task).only("id", "trace_id").first()
    if trace is None:
        return TracePage(trace_id=None, spans=[], next_after=None)
    spans = Span.objects.filter(trace=trace)
    if after is not None:
        cursor = spans.filter(span_id=after).values("started_at", "id").first()
        if cursor is None:
            raise Invalid(f"no span {after} in this trace", field="after")
        spans = spans.filter(
            Q(started_at__gt=cursor["started_at"]) | Q(started_at=cursor["started_at"], id__gt=cursor["id"])
        )
    page = list(spans.order_by("started_at", "id")[: limit + 1])
    has_more = len(page) > limit
    page = page[:limit]
    return TracePage(
        trace_id=trace.trace_id,
        spans=page,
        next_after=page[-1].span_id if has_more else None,
    )
