"""Reads for the console's pages, beside the shared ones in agents.selectors.

Each runs a fixed number of queries whatever the number of rows.
"""

from django.contrib.auth.models import User
from django.db.models import Count, F, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from agents.models import Agent, Session, Task
from agents.selectors import sessions_visible, user_is_admin
from console.models import ApiToken
from core.errors import NotFound
from tracing.models import Span


def session_list(*, viewer: User, agent: str = "", status: str = "") -> QuerySet[Session]:
    """Recent sessions with their task count, last task status, tokens and cost.

    `status` filters on the status of each session's latest task. Each figure is a subquery over
    one session's tasks, so PostgreSQL computes it only for the page of sessions shown, not by
    grouping every session's tasks before the page is cut.
    """
    of_session = Task.objects.filter(session_id=OuterRef("pk"))
    tasks = of_session.order_by().values("session_id")
    last_status = of_session.order_by("-created_at", "-pk").values("status")[:1]
    sessions = (
        sessions_visible(user=viewer)
        .select_related("agent", "owner")
        .annotate(
            task_count=Coalesce(Subquery(tasks.annotate(n=Count("pk")).values("n")), 0),
            total_tokens=Subquery(tasks.annotate(n=Sum(F("input_tokens") + F("output_tokens"))).values("n")),
            total_cost=Subquery(tasks.annotate(n=Sum("cost_usd")).values("n")),
            last_status=Subquery(last_status),
        )
        .order_by("-created_at", "-pk")
    )
    if agent:
        sessions = sessions.filter(agent__name=agent)
    if status:
        sessions = sessions.filter(last_status=status)
    return sessions


def agent_names() -> list[str]:
    return list(Agent.objects.order_by("name").values_list("name", flat=True))


def agents_with_current_version() -> list[str]:
    return list(
        Agent.objects.filter(current_version__isnull=False).order_by("name").values_list("name", flat=True)
    )


def session_tasks(*, session: Session) -> QuerySet[Task]:
    return session.tasks.order_by("created_at", "pk")


def task_span_get(*, task: Task, span_pk: int) -> Span:
    span = Span.objects.filter(trace__task_id=task.pk, pk=span_pk).first()
    if span is None:
        raise NotFound(f"no span {span_pk} in task {task.pk}")
    return span


def api_token_list(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user_id=user.pk).order_by("-created_at", "-pk")


def user_may_cancel(*, task: Task, user: User) -> bool:
    """Its owner or an admin may cancel a task, as in the REST contract; reviewers only read."""
    return task.owner_id == user.pk or user_is_admin(user=user)
