"""Running a case's checks on what its task did: one result per check, in the spec's order."""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from agents.models import Task
from evals.checks.assertions import assertions_for
from evals.checks.judge import judge_check
from evals.checks.observed import Observation
from evals.checks.tool_calls import tool_calls_check
from evals.limits import MAX_DETAIL_CHARS


@dataclass
class CheckedCase:
    # [{"check": index, "kind", "name", "passed", "error", "detail"}]
    results: list[dict[str, Any]] = field(default_factory=list)
    judge_cost_usd: Decimal = Decimal(0)
    judge_input_tokens: int = 0
    judge_output_tokens: int = 0

    @property
    def status(self) -> str:
        """failed if a check failed; error if none failed but one could not be decided."""
        if any(not r["passed"] and not r["error"] for r in self.results):
            return "failed"
        if any(r["error"] for r in self.results):
            return "error"
        return "passed"


def checks_run(checks: list[dict[str, Any]], observation: Observation, *, task: Task) -> CheckedCase:
    """`task` is the case's, whose cost breakers a judge's call is reserved against."""
    checked = CheckedCase()
    assertions = assertions_for(observation.facts()) if any(c["kind"] == "cel" for c in checks) else None
    for index, spec in enumerate(checks):
        error = False
        if spec["kind"] == "tool_calls":
            passed, detail = tool_calls_check(spec, observation.calls)
        elif spec["kind"] == "cel" and assertions is not None:
            passed, detail = assertions.matches(spec["expr"])
            detail = detail or ("" if passed else "the assertion is false")
        else:
            verdict = judge_check(
                rubric=spec["rubric"], model=spec["model"], observation=observation, task=task
            )
            passed, error, detail = verdict.passed, verdict.error, verdict.detail
            checked.judge_cost_usd += verdict.cost_usd
            checked.judge_input_tokens += verdict.input_tokens
            checked.judge_output_tokens += verdict.output_tokens
        checked.results.append(
            {
                "check": index,
                "kind": spec["kind"],
                "name": spec.get("name") or _default_name(spec),
                "passed": passed,
                "error": error,
                "detail": detail[:MAX_DETAIL_CHARS],
            }
        )
    return checked


def _default_name(spec: dict[str, Any]) -> str:
    if spec["kind"] == "cel":
        return spec["expr"][:MAX_DETAIL_CHARS]
    if spec["kind"] == "tool_calls":
        tools = ", ".join(call["tool"] for call in spec["calls"][:10])
        return f"{spec['mode']} calls: {tools}"[:MAX_DETAIL_CHARS]
    return "judge: " + spec["rubric"][:80]
