"""What a finished task did, as the checks see it: its final text, its tool calls, its usage."""

from dataclasses import dataclass
from typing import Any

from agents.models import Step, Task
from evals.limits import MAX_OBSERVED_CALLS


@dataclass(frozen=True)
class Observation:
    input: str
    result: str
    status: str
    stop_reason: str
    # [{"tool", "args", "status", "result"}], in the order the model asked for them.
    calls: list[dict[str, Any]]
    usage: dict[str, Any]

    def facts(self) -> dict[str, Any]:
        """The variables a CEL assertion sees (docs/evals.md)."""
        return {
            "result": self.result,
            "calls": self.calls,
            "usage": self.usage,
            "status": self.status,
            "stop_reason": self.stop_reason,
        }


def observation_of(task: Task) -> Observation:
    """Read from the task's row and its steps (one query for the steps)."""
    calls: list[dict[str, Any]] = []
    steps = 0
    for response, results in (
        Step.objects.filter(task=task).order_by("index").values_list("response", "tool_results")
    ):
        steps += 1
        for index, call in enumerate(response.get("tool_calls") or []):
            if len(calls) >= MAX_OBSERVED_CALLS:
                break
            result = results[index] if index < len(results) else {}
            calls.append(
                {
                    "tool": call.get("name", ""),
                    "args": call.get("arguments") if isinstance(call.get("arguments"), dict) else {},
                    "status": result.get("status", "error"),
                    "result": result,
                }
            )
    latency_ms = 0.0
    if task.started_at and task.finished_at:
        latency_ms = (task.finished_at - task.started_at).total_seconds() * 1000
    return Observation(
        input=task.input,
        result=task.result,
        status=task.status,
        stop_reason=task.stop_reason,
        calls=calls,
        usage={
            "input_tokens": task.input_tokens,
            "output_tokens": task.output_tokens,
            # A double for CEL comparisons (`usage.cost_usd < 0.02`); the exact Decimal is on
            # the case result.
            "cost_usd": float(task.cost_usd),
            "steps": steps,
            "tool_calls": task.tool_calls,
            "latency_ms": latency_ms,
        },
    )
