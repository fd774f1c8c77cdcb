"""Model-graded checks: a judge model, reached through the same providers as agents, reads the
case's input, the task's answer and calls, and a rubric, and answers strict JSON
{"pass": bool, "reason": str}. Its cost is counted on the case and the run.

A judge call is metered like the runtime's own calls (agents/guards/spend.py): its worst case
is reserved under the cost breakers of the case's task before it is sent, and the real cost
replaces the reservation after, whatever way the call ends. A call the breakers refuse is
not made: the check is an error that says so."""

import json
import time
from dataclasses import dataclass
from decimal import Decimal

import redis
from django.conf import settings

from agents.guards.spend import (
    NANO,
    Reservation,
    call_worst_case,
    cost_reserve_rebuilt,
    cost_settle,
    scope_usage_shown,
    task_call_reservation,
)
from agents.models import Task
from agents.providers.base import ChatRequest, ProviderError
from agents.providers.pricing import model_cost, unpriced_reason
from agents.providers.registry import provider_for
from agents.runtime.waiting import db_connection_release
from core import clock
from evals.checks.observed import Observation
from evals.limits import MAX_DETAIL_CHARS, MAX_JUDGE_TEXT_CHARS

JUDGE_MAX_TOKENS = 300
# How often a reservation waiting for room held by other calls asks again.
RESERVE_POLL_S = 0.05
JUDGE_SYSTEM = (
    "You grade the answer of an AI agent against a rubric. Reply with one JSON object and "
    'nothing else: {"pass": true or false, "reason": "one sentence"}.'
)


@dataclass(frozen=True)
class Verdict:
    passed: bool
    # The judge did not give a usable answer (unreachable, not the JSON asked for).
    error: bool
    detail: str
    cost_usd: Decimal
    input_tokens: int
    output_tokens: int


def judge_check(*, rubric: str, model: str, observation: Observation, task: Task) -> Verdict:
    """Ask the judge about `observation`, what `task` did; the call is reserved against the
    cost breakers of `task`'s session, its user's day and the global hour."""
    messages = [
        {"role": "system", "content": JUDGE_SYSTEM},
        {"role": "user", "content": _prompt(rubric=rubric, observation=observation)},
    ]
    try:
        provider, name = provider_for(model)
    except ValueError as exc:
        return _unjudged(f"the judge {model} did not answer: {exc}")
    now = clock.now()
    worst_case = call_worst_case(model=model, messages=messages, max_tokens=JUDGE_MAX_TOKENS, at=now)
    if worst_case is None:
        return _unjudged(f"the judge was not called: {unpriced_reason(model)}")
    reservation = task_call_reservation(task, model=model, amount=worst_case, now=now, purpose="judge")
    refusal = _reserve(reservation)
    if refusal is not None:
        return _unjudged(f"the judge {model} was not called: {refusal}")
    cost = Decimal(0)
    try:
        response = provider.complete(ChatRequest(model=name, messages=messages, max_tokens=JUDGE_MAX_TOKENS))
        cost = model_cost(model=model, usage=response.usage, at=clock.now())
    except ProviderError as exc:
        return _unjudged(f"the judge {model} did not answer: {exc}")
    finally:
        # The real cost replaces the reservation; 0 gives it back (no answer, no bill).
        cost_settle(reservation, cost=cost, at=clock.now())
    passed, error, detail = verdict_parse(response.content)
    return Verdict(passed, error, detail, cost, response.usage.input_tokens, response.usage.output_tokens)


def _reserve(reservation: Reservation) -> str | None:
    """Hold the call's worst case in every scope; None when held, else why not. Room that
    other calls' reservations hold is waited for as the runtime waits (GUARD_RESERVE_WAIT_S),
    since they settle, usually far below their worst case, within seconds."""
    deadline = time.monotonic() + settings.GUARD_RESERVE_WAIT_S
    while True:
        try:
            code, index, spent, reserved = cost_reserve_rebuilt(reservation, now=clock.now())
        except redis.RedisError as exc:
            return f"its cost cannot be metered (Redis unreachable: {exc})"
        if code == 1:
            return None
        if code == -1:
            return "its cost cannot be metered (the spend counters could not be rebuilt)"
        scope = reservation.scopes[index - 1]
        shown = scope_usage_shown(scope)
        if code == 0:
            spent_part = f"spent {_usd(spent)}, " if shown else ""
            return (
                f"the cost breaker refused it: the {scope.name.replace('_', '-')} cost ceiling of "
                f"{scope.ceiling} USD leaves no room ({spent_part}the call may "
                f"cost up to {_usd(reservation.amount_nano)})"
            )
        if time.monotonic() >= deadline:
            held = f" ({_usd(reserved)} USD)" if shown else ""
            return (
                f"the {scope.name.replace('_', '-')} cost ceiling of {scope.ceiling} USD is held by "
                f"other calls' reservations{held}"
            )
        db_connection_release()
        time.sleep(RESERVE_POLL_S)


def _usd(nano: int) -> str:
    return f"{(Decimal(nano) / NANO).normalize():f}"


def _unjudged(detail: str) -> Verdict:
    return Verdict(False, True, _brief(detail), Decimal(0), 0, 0)


def verdict_parse(content: str) -> tuple[bool, bool, str]:
    """(passed, error, detail) from the judge's reply: exactly {"pass": bool, "reason": str}."""
    try:
        answer = json.loads(content.strip()[:MAX_JUDGE_TEXT_CHARS])
    except ValueError:
        answer = None
    if (
        not isinstance(answer, dict)
        or set(answer) != {"pass", "reason"}
        or not isinstance(answer["pass"], bool)
        or not isinstance(answer["reason"], str)
    ):
        return False, True, _brief(f'the judge did not answer {{"pass": bool, "reason": str}}: {content!r}')
    return answer["pass"], False, _brief(answer["reason"])


def _prompt(*, rubric: str, observation: Observation) -> str:
    calls = [
        {"tool": call["tool"], "args": call["args"], "status": call["status"]} for call in observation.calls
    ]
    parts = {
        "input": observation.input,
        "answer": observation.result,
        "status": observation.status,
        "tool_calls": calls,
    }
    facts = json.dumps(parts, ensure_ascii=False, default=str)[:MAX_JUDGE_TEXT_CHARS]
    return f"Rubric:\n{rubric}\n\nWhat the agent did (JSON):\n{facts}"


def _brief(text: str) -> str:
    return text if len(text) <= MAX_DETAIL_CHARS else text[:MAX_DETAIL_CHARS] + "…"
