"""Model routing by step complexity: a classification step does not go to the largest model.

Each step is given a complexity from what it is and from its input size; the agent's routing
table (GuardConfig.routing) maps a complexity to a model, and anything it does not name goes
to the agent's own model. The model and the reason are recorded on the model span.
"""

from typing import TYPE_CHECKING

from agents.guards.decision import ALLOW, Decision
from agents.guards.plan import guard_context, step_plan
from agents.guards.tokens import messages_tokens

if TYPE_CHECKING:
    from agents.runtime.state import RunState

COMPLEXITIES = ("classify", "tool_choice", "final", "summarise", "large")
# Above this many prompt tokens a step is "large" whatever it is: long inputs need the
# agent's main model's context and attention.
LARGE_INPUT_TOKENS = 8_000


def step_complexity(state: "RunState") -> tuple[str, str]:
    """(complexity, why) for the next model call."""
    messages = state.task.messages
    size = messages_tokens(messages)
    if size > LARGE_INPUT_TOKENS:
        return "large", f"~{size} input tokens (over {LARGE_INPUT_TOKENS})"
    last = messages[-1]["role"] if messages else "user"
    if not state.tools:
        return "classify", f"no tools to choose from, ~{size} input tokens"
    if last == "tool":
        return "final", f"reading tool results, ~{size} input tokens"
    return "tool_choice", f"picking among {len(state.tools)} tools, ~{size} input tokens"


def routing_guard(state: "RunState") -> Decision:
    plan = step_plan(state)
    if plan is None:
        return ALLOW
    complexity, why = step_complexity(state)
    plan.complexity = complexity
    if plan.downgraded_by:
        plan.route_reason = f"{complexity} ({why}); kept the cheaper model chosen by {plan.downgraded_by}"
        return ALLOW
    routed = guard_context(state).config.routing.get(complexity)
    if routed:
        plan.model = routed
        plan.route_reason = f"{complexity} ({why}); the routing table sends it to {routed}"
    else:
        plan.route_reason = f"{complexity} ({why}); no route for it, the agent's model"
    return ALLOW


def route_attributes(state: "RunState") -> dict[str, str]:
    """The routing decision for the model span: which model, for what kind of step, and why."""
    plan = step_plan(state)
    if plan is None or not plan.complexity:
        return {}
    return {
        "tollgate.route.model": plan.model,
        "tollgate.route.complexity": plan.complexity,
        "tollgate.route.reason": plan.route_reason,
    }
