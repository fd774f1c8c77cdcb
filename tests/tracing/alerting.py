"""Rows the alert tests build: tasks with steps and spans at chosen times."""

from datetime import datetime, timedelta
from decimal import Decimal

from agents.models import Step, Task
from agents.services.tasks import task_submit
from tracing.ids import new_span_id
from tracing.models import AlertRule, Span


def rule(kind: str) -> AlertRule:
    """The rule as the migration seeds it (transactional tests flush the seeded rows)."""
    defaults = {
        AlertRule.Kind.TOOL_ERROR_RATE: ("0.05", 300, 10),
        AlertRule.Kind.BUDGET_BURN: ("0.75", 86400, 1),
        AlertRule.Kind.STUCK_SESSIONS: ("2", 3600, 10),
        AlertRule.Kind.COST_OUTLIERS: ("3", 86400, 10),
        AlertRule.Kind.INJECTION_SPIKE: ("3", 86400, 3),
    }[AlertRule.Kind(kind)]
    found, _ = AlertRule.objects.get_or_create(
        kind=kind,
        defaults={"threshold": Decimal(defaults[0]), "window_s": defaults[1], "min_samples": defaults[2]},
    )
    AlertRule.objects.exclude(kind=kind).update(enabled=False)
    return found


def task(
    owner, *, session=None, cost: str = "0", started: datetime | None = None, seconds: float | None = None
):
    made, _ = task_submit(owner=owner, agent_name="support-bot", input="go", session_id=session)
    updates: dict = {"cost_usd": Decimal(cost)}
    if started is not None:
        updates["started_at"] = started
        updates["status"] = Task.Status.RUNNING
        if seconds is not None:
            updates["finished_at"] = started + timedelta(seconds=seconds)
            updates["status"] = Task.Status.SUCCEEDED
    Task.objects.filter(pk=made.pk).update(**updates)
    made.refresh_from_db()
    return made


def step(task: Task, *, at: datetime, cost: str, tokens: int = 0, index: int = 0) -> Step:
    return Step.objects.create(
        task=task,
        index=index,
        model="sim/refund",
        cost_usd=Decimal(cost),
        input_tokens=tokens,
        started_at=at,
    )


def span(task: Task, *, kind: str, at: datetime, error: bool = False, **attributes) -> Span:
    # As the runtime writes every span of a task: the cost page finds a call's session by it.
    attributes.setdefault("gen_ai.conversation.id", str(task.session_id))
    return Span.objects.create(
        trace=task.trace,
        span_id=new_span_id(),
        name=f"{kind} span",
        kind=kind,
        status=Span.Status.ERROR if error else Span.Status.OK,
        started_at=at,
        ended_at=at,
        duration_ms=0,
        attributes=attributes,
    )
