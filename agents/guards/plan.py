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

from agents.guards.decision import Decision, Verdict
from agents.guards.models import GuardConfig, SpendRecord
from agents.models import Task
from core.raw_rows import prepared_cursor, row_columns, row_instance, row_table

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
    # The reservation also took the call's request from its provider's rate window (one round
    # trip for both): (the provider's name, seconds until the window has room; 0: taken).
    provider_rate: tuple[str, float] | None = None


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
    # What the spend ledger holds for the session, read with the configuration by a run that
    # opens a new session (whose cost counters Redis cannot have yet), until the cost breaker
    # has created the session's counters from it with its first reservation; None otherwise.
    session_spent: Decimal | None = None


def agent_guards(*, agent_id: int) -> AgentGuards:
    return _agent_guards_of(GuardConfig.objects.filter(agent_id=agent_id).first())


def _agent_guards_of(row: GuardConfig | None) -> AgentGuards:
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
        # A session's first task, on its first step: the session's cost counters cannot exist
        # in Redis yet, so the ledger's sum for it (what a rebuild reads) rides along.
        opens_session = not state.session_has_other_tasks and task.step_index == 0
        # One hand-written statement per run for these reads (the ORM compiled two, at several
        # times PostgreSQL's cost: core/raw_rows.py), prepared: planned once per connection.
        with prepared_cursor() as cursor:
            cursor.execute(
                _GUARD_LOAD,
                [
                    *(task.session_id, task.pk, task.created_at),
                    *(opens_session, task.session_id),
                    state.version.agent_id,
                ],
            )
            row = cursor.fetchone()
        tokens_before, session_spent, config = row[0], row[1], row[2:]
        state.guard = GuardContext(
            config=_agent_guards_of(row_instance(GuardConfig, config) if config[0] is not None else None),
            session_tokens_before=int(tokens_before),
            session_spent=Decimal(session_spent) if session_spent is not None else None,
        )
    return state.guard


# The tokens the session's earlier tasks used, the session's spend in the ledger when asked for
# (a subquery in a CASE runs only when its branch is taken), and the agent's guard configuration
# if it has one.
_GUARD_LOAD = f"""
SELECT
    (SELECT COALESCE(SUM(t.input_tokens), 0) + COALESCE(SUM(t.output_tokens), 0)
     FROM {row_table(Task)} t WHERE t.session_id = %s AND t.id <> %s AND t.created_at < %s),
    CASE WHEN %s THEN
        (SELECT COALESCE(SUM(r.cost_usd), 0) FROM {row_table(SpendRecord)} r WHERE r.session_id = %s)
    END,
    {row_columns(GuardConfig, "g")}
FROM (SELECT 1) AS one LEFT JOIN {row_table(GuardConfig)} g ON g.agent_id = %s
"""  # noqa: S608


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
