"""Model-graded checks: a judge model, reached through the same providers as agents, reads the
case's input, the task's answer and calls, and a rubric, and answers strict JSON
{"pass": bool, "reason": str}. Its cost is counted on the case and the run."""

import json
from dataclasses import dataclass
from decimal import Decimal

from agents.providers.base import ChatRequest, ProviderError
from agents.providers.pricing import model_cost
from agents.providers.registry import provider_for
from core import clock
from evals.checks.observed import Observation
from evals.limits import MAX_DETAIL_CHARS, MAX_JUDGE_TEXT_CHARS

JUDGE_MAX_TOKENS = 300
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


def judge_check(*, rubric: str, model: str, observation: Observation) -> Verdict:
    prompt = _prompt(rubric=rubric, observation=observation)
    try:
        provider, name = provider_for(model)
        response = provider.complete(
            ChatRequest(
                model=name,
                messages=[{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": prompt}],
                max_tokens=JUDGE_MAX_TOKENS,
            )
        )
    except (ProviderError, ValueError) as exc:
        return Verdict(False, True, _brief(f"the judge {model} did not answer: {exc}"), Decimal(0), 0, 0)
    cost = model_cost(model=model, usage=response.usage, at=clock.now())
    passed, error, detail = verdict_parse(response.content)
    return Verdict(passed, error, detail, cost, response.usage.input_tokens, response.usage.output_tokens)


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
