"""Every tool call goes through here: circuit breaker, rate limit, then retries.

A call is retried only when its ToolResult says retry_safe and its error is the tool's
(transient or rate_limit), with exponential backoff and full jitter, never sooner than the
tool's Retry-After, and only while the task's retry budget (shared by all its steps and all
workers, in Redis) lasts. Whatever happens, the model gets a structured ToolResult.
"""

import logging
import random
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import redis
from django.conf import settings

from agents.guards.breakers import ToolLimits, breaker_admit, breaker_open_result, breaker_record, tool_limits
from agents.guards.decision import Decision, Verdict
from agents.guards.plan import guard_context, step_plan
from agents.guards.store import guard_key, guard_redis
from agents.models import Tool
from agents.runtime.waiting import waiting
from agents.tools.result import ToolResult
from tracing.recorder import SpanBuffer

if TYPE_CHECKING:
    from agents.runtime.state import RunState

# The guards that act around one execution of a tool (the spans this module writes, but
# max_tool_calls, which the step's guards also decide). A call answered from a recording
# (agents/runtime/playback.py) is not executed, so none of them runs for it: its recorded
# result already holds what they decided.
TOOL_EXECUTION_GUARDS = frozenset({"retry_budget", "tool_retry", "tool_breaker", "tool_rate_limit"})

logger = logging.getLogger(__name__)

_RETRY_KEY_TTL_S = 2 * 86_400
_sleep = time.sleep  # tests replace it to skip the waits without changing what is decided
_random = random.SystemRandom()


def retry_delay_s(*, attempt: int, retry_after_s: float | None) -> float:
    """Full-jitter exponential backoff (AWS Architecture Blog), but never before Retry-After."""
    ceiling = min(settings.GUARD_RETRY_MAX_S, settings.GUARD_RETRY_BASE_S * 2**attempt)
    return max(_random.uniform(0, ceiling), retry_after_s or 0.0)


def retry_budget_take(*, task_id: object, budget: int) -> bool:
    """One retry from the task's budget. INCR is atomic, so two workers (or two parallel
    calls of one step) can never both take the last retry."""
    key = guard_key("retries", task_id)
    client = guard_redis()
    used = int(client.incr(key))
    if used == 1:
        client.expire(key, _RETRY_KEY_TTL_S)
    return used <= budget


def _is_tool_fault(result: ToolResult) -> bool:
    return result.status == "error" and result.error_type in ("transient", "rate_limit")


def tool_call_guarded(
    *, state: "RunState", spans: SpanBuffer, tool: Tool, execute: Callable[[], ToolResult]
) -> ToolResult:
    context = guard_context(state)
    refused = _tool_call_budget_check(state, spans)
    if refused is not None:
        return refused
    limits = context.tool_limits.get(tool.name)
    if limits is None:
        limits = context.tool_limits[tool.name] = tool_limits(tool=tool)
    attempt = 0
    while True:
        try:
            result, breaker = _attempt(state, spans, tool, limits, execute)
        except redis.RedisError:
            # Without Redis there is no shared breaker or retry budget: run once, never retry.
            logger.warning("guard state unreachable: calling %s once, without retries", tool.name)
            return execute()
        if not (_is_tool_fault(result) and result.retry_safe) or result.data == {"circuit_breaker": "open"}:
            return result
        if breaker == "unknown":
            return result
        if breaker == "open":
            return _not_retried(result, f"{tool.name} failed repeatedly and its circuit breaker is now open")
        delay = retry_delay_s(attempt=attempt, retry_after_s=result.retry_after_s)
        if delay > settings.GUARD_RETRY_MAX_S:
            return _not_retried(result, f"it asks for a {delay:.0f}s wait")
        try:
            allowed = retry_budget_take(task_id=state.task.id, budget=context.config.retry_budget)
        except redis.RedisError:
            allowed = False
        if not allowed:
            budget = context.config.retry_budget
            _record(state, spans, "retry_budget", f"the task's {budget} retries are used up")
            return _not_retried(result, "the task's retry budget is used up")
        attempt += 1
        _record(
            state,
            spans,
            "tool_retry",
            f"retrying {tool.name} after {result.error_type} in {delay:.2f}s (retry {attempt})",
            detail={
                "tool": tool.name,
                "attempt": attempt,
                "delay_s": round(delay, 3),
                "error": result.message[:200],
            },
            verdict=Verdict.ALLOW,
        )
        with waiting(state):
            _sleep(delay)


def _tool_call_budget_check(state: "RunState", spans: SpanBuffer) -> ToolResult | None:
    """The tool-call budget inside a step: a step that asks for more calls than the task has
    left gets the rest refused (the guard before the next model call then halts the task)."""
    plan = step_plan(state)
    made = 1
    if plan is not None:
        plan.tool_calls += 1
        made = plan.tool_calls
    limit = state.version.max_tool_calls
    if state.task.tool_calls + made <= limit:
        return None
    _record(state, spans, "max_tool_calls", f"the task's budget of {limit} tool calls is used up")
    return ToolResult.error("permanent", f"not called: the task's budget of {limit} tool calls is used up")


def _not_retried(result: ToolResult, why: str) -> ToolResult:
    return replace(result, message=f"{result.message} (not retried: {why})")


def _attempt(
    state: "RunState", spans: SpanBuffer, tool: Tool, limits: ToolLimits, execute: Callable[[], ToolResult]
) -> tuple[ToolResult, str]:
    """One call through the breaker and the rate limit (one round trip for both): (its result,
    the breaker's state after)."""
    admitted, breaker, wait_s, rate_wait_s = breaker_admit(tool=tool, limits=limits, take_rate=True)
    if not admitted:
        _record(state, spans, "tool_breaker", f"{tool.name}'s circuit breaker is {breaker}: failing fast")
        return breaker_open_result(tool=tool, wait_s=wait_s), breaker
    if rate_wait_s > 0:
        reason = f"{tool.name} is over its limit of {limits.requests_per_minute} calls a minute"
        _record(state, spans, "tool_rate_limit", reason)
        return ToolResult.error(
            "rate_limit",
            reason,
            retry_safe=True,
            retry_after_s=round(rate_wait_s, 3),
        ), breaker
    result = execute()
    try:
        return result, breaker_record(tool=tool, limits=limits, failed=_is_tool_fault(result))
    except redis.RedisError:
        # The call was made: its result stands, but with no shared state it is not retried.
        return _not_retried(result, "guard state unreachable") if _is_tool_fault(
            result
        ) else result, "unknown"


def _record(
    state: "RunState",
    spans: SpanBuffer,
    guard: str,
    reason: str,
    *,
    detail: dict | None = None,
    verdict: Verdict = Verdict.HALT,
) -> None:
    # Imported here: the pipeline module imports the guards, this one among them.
    from agents.guards.pipeline import guardrail_span

    guardrail_span(state, spans, Decision(verdict, guard=guard, reason=reason, detail=detail or {}))
