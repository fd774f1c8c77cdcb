"""Limits that need no outside state: the agent's maximum iterations."""

from agents.guards.decision import ALLOW, Decision, Verdict
from agents.runtime.state import RunState


def iterations_guard(state: RunState) -> Decision:
    limit = state.version.max_iterations
    if state.task.step_index < limit:
        return ALLOW
    return Decision(
        Verdict.HALT,
        guard="max_iterations",
        reason=f"stopped after {limit} steps (the agent's max_iterations)",
        detail={"limit": limit, "steps": state.task.step_index},
    )
