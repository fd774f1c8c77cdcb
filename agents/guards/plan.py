"""What the guards decide for the next model call: the model, why, and its cost reservation.

The pipeline starts a fresh StepPlan before each model call; guards fill it in order (the
token budget may downgrade, routing picks a model, the cost breaker reserves for that model)
and the step reads it. An agent's guard configuration is loaded once per run.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Sum

from agents.guards.decision import Decision, Verdict
from agents.guards.models import GuardConfig
from agents.models import Task

if TYPE_CHECKING:
    from agents.guards.breakers import ToolLimits
    from agents.guards.loop_signals import OutputRecord
    from agents.guards.spend import Reservation
    from agents.runtime.state import RunState


@dataclass(frozen=True)
class AgentGuards:
    """An agent's guard settings, each resolved against the global default."""

    session_max_tokens: int
    user_day_usd: Decimal
    retry_budget: int
    context_max_tokens: int
    keep_tool_results: int
    routing: dict[str, str] = field(default_factory=dict)


@dataclass
class StepPlan:
    model: str
    complexity: str = ""
    route_reason: str = ""
    downgraded_by: str = ""
    reservation: "Reservation | None" = None
    # The reserved call was made: its cost and when, until its ledger row is written and
    # Redis settled (agents/guards/spend.py plan_spend_record, plan_settle_recorded).
    spent: tuple[Decimal, datetime] | None = None
    tool_calls: int = 0  # tool calls this step has made so far


@dataclass
class GuardContext:
    config: AgentGuards
    # Tokens the session's earlier tasks used: fixed while this task runs.
    session_tokens_before: int
    plan: StepPlan | None = None
    tool_limits: dict[str, "ToolLimits"] = field(default_factory=dict)  # per tool, loaded once per run
    # The session's latest outputs as the last checkpoint stored them, for the loop guard of
    # the step after it: (that step's index, the embedding model, the records, oldest first).
    loop_records: "tuple[int, str, list[OutputRecord]] | None" = None


def agent_guards(*, agent_id: int) -> AgentGuards:
    row = GuardConfig.objects.filter(agent_id=agent_id).first()

    def pick(name: str, default: Any) -> Any:
        value = getattr(row, name, None) if row else None
        return default if value is None else value

    return AgentGuards(
        session_max_tokens=pick("session_max_tokens", settings.GUARD_SESSION_MAX_TOKENS),
        user_day_usd=pick("user_day_usd", settings.GUARD_USER_DAY_USD),
        retry_budget=pick("retry_budget", settings.GUARD_RETRY_BUDGET),
        context_max_tokens=pick("context_max_tokens", settings.GUARD_CONTEXT_MAX_TOKENS),
        keep_tool_results=pick("keep_tool_results", settings.GUARD_KEEP_TOOL_RESULTS),
        routing=dict(row.routing) if row and row.routing else {},
    )


def guard_context(state: "RunState") -> GuardContext:
    if state.guard is None:
        task = state.task
        earlier = (
            Task.objects.filter(session_id=task.session_id)
            .exclude(pk=task.pk)
            .filter(created_at__lt=task.created_at)
            .aggregate(i=Sum("input_tokens"), o=Sum("output_tokens"))
        )
        state.guard = GuardContext(
            config=agent_guards(agent_id=state.version.agent_id),
            session_tokens_before=(earlier["i"] or 0) + (earlier["o"] or 0),
        )
    return state.guard


def step_plan_start(state: "RunState") -> StepPlan:
    context = guard_context(state)
    context.plan = StepPlan(model=state.version.model)
    return context.plan


def step_plan(state: "RunState") -> StepPlan | None:
    return state.guard.plan if state.guard is not None else None


def step_model(state: "RunState", decision: Decision) -> str:
    """The model the next call uses, as the guards planned it."""
    plan = step_plan(state)
    if plan is not None:
        return plan.model
    if decision.verdict is Verdict.DOWNGRADE and state.version.fallback_model:
        return state.version.fallback_model
    return state.version.model
