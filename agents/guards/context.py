"""Context control: keep a long session inside its model's context budget.

Before a model call, when the conversation (with the system prompt and tool definitions)
would pass the agent's context budget, two things happen in order, each only if still needed:
1. tool results older than the last N are cut to a stub (the last N stay whole);
2. the older turns are summarised by the cheaper model into one message, recorded as a span.
The shortened conversation replaces the task's checkpointed messages, so the summary is made
once and every later step (and a redelivered one) starts from it. The metered call to the
summarisers' model (summary_call) also serves the injection app's quarantine summaries.
"""

import json
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import redis

from agents.guards.plan import guard_context
from agents.guards.spend import call_worst_case, cost_reserve, cost_settle, spend_reservation_for
from agents.guards.tokens import messages_tokens
from agents.models import Task
from agents.providers.base import ChatRequest, ChatResponse, ProviderError, Usage
from agents.providers.pricing import model_cost, unpriced_reason
from agents.providers.registry import provider_for
from agents.runtime import messages as conversation
from agents.runtime.waiting import waiting
from core import clock
from tracing.recorder import COST_ATTRIBUTE, SpanBuffer

if TYPE_CHECKING:
    from agents.runtime.state import RunState

SUMMARY_PREFIX = "[Summary of the earlier conversation]"
SUMMARY_PROMPT = (
    "Summarise the conversation below for an assistant that will continue it. Keep every fact, "
    "decision, number, identifier and open question; drop pleasantries. Plain prose, at most "
    "{words} words."
)
# A stub for an old tool result: what it was, not what it said.
_ELIDED = "older tool result elided to save context ({chars} characters)"


def context_tokens(state: "RunState", messages: list[dict[str, Any]]) -> int:
    full = conversation.with_system_prompt(state.version.system_prompt, messages)
    return messages_tokens(full, tools=state.tool_specs)


def context_fit(state: "RunState", spans: SpanBuffer) -> Decimal:
    """Shorten the task's conversation to the context budget; returns what summarising cost."""
    config = guard_context(state).config
    budget = config.context_max_tokens
    messages = state.task.messages
    if context_tokens(state, messages) <= budget:
        return Decimal(0)
    keep = config.keep_tool_results
    compacted = _elide_old_tool_results(messages, keep=keep)
    cost = Decimal(0)
    if context_tokens(state, compacted) > budget:
        compacted, cost = _summarise_head(state, spans, compacted, keep=keep, budget=budget)
    # Conditional on the step: a duplicate delivery that already moved on is left alone.
    task = state.task
    stored: dict[str, Any] = {"messages": compacted[state.history_len :]}
    if compacted[: state.history_len] != messages[: state.history_len]:
        # The session's earlier conversation was shortened too: the task keeps the whole result.
        stored = {"messages": compacted, "history_task": None, "history_messages": 0}
        state.history_len = 0
    Task.objects.filter(pk=task.pk, step_index=task.step_index, status=Task.Status.RUNNING).update(**stored)
    state.task.messages = compacted
    return cost


def _elide_old_tool_results(messages: list[dict[str, Any]], *, keep: int) -> list[dict[str, Any]]:
    tool_positions = [i for i, m in enumerate(messages) if m.get("role") == "tool"]
    old = set(tool_positions[: max(len(tool_positions) - keep, 0)])
    result = []
    for i, message in enumerate(messages):
        content = message.get("content")
        if i in old and isinstance(content, str) and not content.startswith('{"elided"'):
            message = {**message, "content": json.dumps({"elided": _ELIDED.format(chars=len(content))})}
        result.append(message)
    return result


def _tail_start(messages: list[dict[str, Any]], *, keep: int) -> int:
    """Where the part kept word for word begins: the assistant turn that asked for the
    oldest of the last `keep` tool results (a tool result never loses its call), or the
    last user message when there are none."""
    tool_positions = [i for i, m in enumerate(messages) if m.get("role") == "tool"]
    start = tool_positions[-keep] if keep and tool_positions else len(messages) - 1
    while start > 0 and messages[start].get("role") == "tool":
        start -= 1
    return max(start, 1)


def _summarise_head(
    state: "RunState", spans: SpanBuffer, messages: list[dict[str, Any]], *, keep: int, budget: int
) -> tuple[list[dict[str, Any]], Decimal]:
    start = _tail_start(messages, keep=keep)
    head, tail = messages[:start], messages[start:]
    words = max(budget // 8, 50)
    transcript = "\n".join(f"{m.get('role')}: {conversation_text(m)}" for m in head)
    request_messages = [
        {"role": "system", "content": SUMMARY_PROMPT.format(words=words)},
        {"role": "user", "content": transcript},
    ]
    # Refused or unmeterable, the older turns are still dropped: the context budget is the hard limit.
    call = summary_call(state, messages=request_messages, max_tokens=min(words * 2, 2048))
    if call.response is not None:
        summary = call.response.content
    else:
        summary = f"(the earlier turns were dropped unsummarised: {call.problem})"
    # A summariser that ignores the word limit must not break the budget it exists for.
    summary = summary[: words * 6]
    spans.add(
        name="context summarise",
        kind="model",
        step_index=state.task.step_index,
        started_at=call.started_at,
        ended_at=clock.now(),
        error=call.response is None,
        attributes={
            **summary_span_attributes(state, model=call.model, usage=call.usage, cost=call.cost),
            "tollgate.context.summarised_messages": len(head),
            "tollgate.context.kept_messages": len(tail),
            "tollgate.context.budget_tokens": budget,
        },
        input=request_messages,
        output={"role": "assistant", "content": summary},
    )
    summary_message = {"role": "user", "content": f"{SUMMARY_PREFIX}\n{summary}"}
    return [summary_message, *tail], call.cost


def conversation_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    text = content if isinstance(content, str) else json.dumps(content) if content is not None else ""
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        text += f" [called {function.get('name')}({function.get('arguments')})]"
    return text


@dataclass(frozen=True)
class SummaryCall:
    """One call to the summarisers' model: its answer, or why there is none (`problem`)."""

    model: str
    started_at: datetime
    response: ChatResponse | None
    cost: Decimal
    problem: str = ""

    @property
    def usage(self) -> Usage | None:
        return self.response.usage if self.response is not None else None


def summariser_model(state: "RunState") -> str:
    """The model that summarises (guardrail routing `summarise`), else the agent's fallback or own."""
    routing = guard_context(state).config.routing
    return routing.get("summarise") or state.version.fallback_model or state.version.model


def summary_call(
    state: "RunState",
    *,
    messages: list[dict[str, Any]],
    max_tokens: int,
    tools: list[dict[str, Any]] | None = None,
) -> SummaryCall:
    """Ask the summarisers' model, metered like any call: its worst case is reserved under the
    cost ceilings first (so a summariser cannot pass them either), the wait is marked, and what
    it cost is settled. No call is made when its model has no price or there is no room.

    The caller records the call's span (summary_span_attributes) with what it made of the answer.
    """
    model = summariser_model(state)
    provider, provider_model = provider_for(model)
    started = clock.now()
    refused = SummaryCall(model=model, started_at=started, response=None, cost=Decimal(0))
    worst_case = call_worst_case(model=model, messages=messages, max_tokens=max_tokens, at=clock.now())
    if worst_case is None:
        return replace(refused, problem=unpriced_reason(model))
    reservation = spend_reservation_for(state, model=model, amount=worst_case)
    try:
        reserved = cost_reserve(reservation, now=started)[0] == 1
    except redis.RedisError:
        reserved = False
    if not reserved:
        return replace(refused, problem="no room under the cost ceilings")
    response, cost, problem = None, Decimal(0), ""
    try:
        request = ChatRequest(
            model=provider_model, messages=messages, tools=tools or [], max_tokens=max_tokens
        )
        with waiting(state):
            response = provider.complete(request)
        cost = model_cost(model=model, usage=response.usage, at=started)
    except ProviderError as error:
        problem = f"the summariser failed: {error}"
    cost_settle(reservation, cost=cost, at=started)
    return SummaryCall(model=model, started_at=started, response=response, cost=cost, problem=problem)


def summary_span_attributes(
    state: "RunState", *, model: str, usage: Usage | None, cost: Decimal
) -> dict[str, Any]:
    """A summary call's model-span attributes; `usage` is None when the call was not made or failed."""
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": model,
        "gen_ai.usage.input_tokens": usage.input_tokens if usage else 0,
        "gen_ai.usage.output_tokens": usage.output_tokens if usage else 0,
        "gen_ai.conversation.id": str(state.task.session_id),
        COST_ATTRIBUTE: str(cost),
    }
