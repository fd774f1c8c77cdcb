"""A case from production: any task of the suite's agent becomes a case with its input, its
tool results as fixtures (each at its position, so the run answers exactly what the task was
told), and by default a check that the same tool calls are made, as a set."""

from typing import Any

from django.contrib.auth.models import User

from agents.models import Step, Task
from core.errors import Invalid
from evals.limits import MAX_FIXTURES_PER_CASE, MAX_NAME_CHARS
from evals.models import EvalCase, EvalSuite
from evals.services.suites import case_create


def eval_case_from_task(*, task: Task, suite: EvalSuite, by: User, name: str = "") -> EvalCase:
    if task.session.agent_id != suite.agent_id:
        raise Invalid(f"the task ran agent {task.session.agent.name!r}, not the suite's", field="task")
    fixtures: list[dict[str, Any]] = []
    expected: list[dict[str, Any]] = []
    for step in Step.objects.filter(task=task).order_by("index"):
        results = step.tool_results or []
        for index, call in enumerate(step.response.get("tool_calls") or []):
            if index >= len(results):
                continue  # the call never got a result (the task stopped first)
            arguments = call.get("arguments") if isinstance(call.get("arguments"), dict) else None
            fixtures.append(
                {
                    "tool": call.get("name", ""),
                    "arguments": arguments,
                    "step": step.index,
                    "call": index,
                    "result": results[index],
                }
            )
            expected.append({"tool": call.get("name", ""), "args": arguments or {}})
    if len(fixtures) > MAX_FIXTURES_PER_CASE:
        raise Invalid(
            f"the task made {len(fixtures)} tool calls; a case holds {MAX_FIXTURES_PER_CASE}", field="task"
        )
    checks = [
        {"kind": "tool_calls", "name": "the same tool calls", "mode": "set", "only": True, "calls": expected}
    ]
    return case_create(
        actor=by,
        suite_id=suite.pk,
        name=(name or f"from task {task.pk}")[:MAX_NAME_CHARS],
        input=task.input,
        fixtures=fixtures,
        checks=checks,
        source_task=task,
    )
