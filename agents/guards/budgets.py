"""Budgets that need no outside state: tokens per task and session, tool calls, wall time."""

from typing import TYPE_CHECKING

from django.conf import settings

from agents.guards.decision import ALLOW, Decision, Verdict
from agents.guards.plan import guard_context, step_plan
from core import clock

if TYPE_CHECKING:
    from agents.runtime.state import RunState


def token_budget_guard(state: "RunState") -> Decision:
    """Above GUARD_DOWNGRADE_AT (80%) of the task's or the session's token budget the step uses
    the cheaper model; at 100% the task stops with the best answer so far."""
    task = state.task
    context = guard_context(state)
    task_used = task.input_tokens + task.output_tokens
    session_used = context.session_tokens_before + task_used
    budgets = (
        ("task", task_used, state.version.max_tokens),
        ("session", session_used, context.config.session_max_tokens),
    )
    scope, used, limit = max(budgets, key=lambda b: b[1] / b[2] if b[2] else float("inf"))
    ratio = used / limit if limit else float("inf")
    detail = {"scope": scope, "used_tokens": used, "budget_tokens": limit, "ratio": round(ratio, 4)}
    if ratio >= 1:
        return Decision(
            Verdict.HALT,
            guard="token_budget",
            reason=f"the {scope} used {used} of its {limit}-token budget",
            detail=detail,
        )
    if ratio >= settings.GUARD_DOWNGRADE_AT and state.version.fallback_model:
        plan = step_plan(state)
        if plan is not None:
            plan.model = state.version.fallback_model
            plan.downgraded_by = "token_budget"
        return Decision(
            Verdict.DOWNGRADE,
            guard="token_budget",
            reason=(
                f"the {scope} used {ratio:.0%} of its {limit}-token budget: "
                f"switching to {state.version.fallback_model}"
            ),
            detail={**detail, "model": state.version.fallback_model},
        )
    return ALLOW


def tool_call_budget_guard(state: "RunState") -> Decision:
    limit = state.version.max_tool_calls
    if state.task.tool_calls < limit:
        return ALLOW
    return Decision(
        Verdict.HALT,
        guard="max_tool_calls",
        reason=f"stopped after {state.task.tool_calls} tool calls (the agent's max_tool_calls is {limit})",
        detail={"limit": limit, "tool_calls": state.task.tool_calls},
    )


def wall_time_guard(state: "RunState") -> Decision:
    """A session may run for max_seconds from its start, however many tasks it spans."""
    limit = state.version.max_seconds
    elapsed = (clock.now() - state.task.session.created_at).total_seconds()
    if elapsed < limit:
        return ALLOW
    return Decision(
        Verdict.HALT,
        guard="max_seconds",
        reason=f"the session has run {elapsed:.0f}s, past its {limit}s limit",
        detail={"limit_s": limit, "elapsed_s": round(elapsed, 3)},
    )
