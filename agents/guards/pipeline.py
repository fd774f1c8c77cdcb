"""The guardrail pipeline: every guard, in one fixed order, before every model call.

The order is part of the contract (docs/guardrails.md): cheap, local checks first, so a task
that must stop anyway never spends a budget reservation or a network round trip. A halt or
park ends the evaluation; a downgrade is remembered while stricter guards still run.
Every decision other than "allow" is recorded as a guardrail span.
"""

from collections.abc import Callable

from agents.guards.budgets import token_budget_guard, tool_call_budget_guard, wall_time_guard
from agents.guards.decision import ALLOW, Decision, Verdict
from agents.guards.limits import iterations_guard
from agents.guards.loops import loop_guard, repeated_tool_call_guard
from agents.guards.plan import step_plan_start
from agents.guards.routing import routing_guard
from agents.guards.spend import cost_breaker_guard, cost_release
from agents.runtime.state import RunState
from core import clock
from tracing.recorder import SpanBuffer

ModelCallGuard = Callable[[RunState], Decision]

# The order is documented in docs/guardrails.md; keep the two in step.
MODEL_CALL_GUARDS: tuple[ModelCallGuard, ...] = (
    iterations_guard,
    wall_time_guard,
    tool_call_budget_guard,
    token_budget_guard,
    repeated_tool_call_guard,
    loop_guard,
    routing_guard,
    # Last: it reserves money, and nothing after it may stop the call it reserved for.
    cost_breaker_guard,
)


def guards_before_model_call(
    state: RunState, spans: SpanBuffer, *, guards: tuple[ModelCallGuard, ...] = MODEL_CALL_GUARDS
) -> Decision:
    outcome = ALLOW
    plan = step_plan_start(state)
    for guard in guards:
        decision = guard(state)
        if decision.verdict is Verdict.ALLOW:
            continue
        guardrail_span(state, spans, decision)
        if decision.verdict in (Verdict.HALT, Verdict.PARK):
            if plan.reservation is not None:
                cost_release(plan.reservation)
                plan.reservation = None
            return decision
        outcome = decision
    return outcome


def guardrail_span(state: RunState, spans: SpanBuffer, decision: Decision) -> None:
    now = clock.now()
    spans.add(
        name=f"guardrail {decision.guard}",
        kind="guardrail",
        step_index=state.task.step_index,
        started_at=now,
        ended_at=now,
        error=decision.verdict is Verdict.HALT,
        attributes={
            "tollgate.guardrail.name": decision.guard,
            "tollgate.guardrail.verdict": decision.verdict.value,
            "tollgate.guardrail.reason": decision.reason,
            "gen_ai.conversation.id": str(state.task.session_id),
        },
        output=decision.detail or None,
    )
