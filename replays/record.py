"""What a task did, per step and tool call, read back from its steps, spans and action requests:
the recording a replay serves back, and each side of a replay's diff.

A tool span written since the gate's verdicts were traced carries the policy's verdict
(`tollgate.gate.*`). For a task recorded before, the verdict is derived: the action request of
the call if the policy held it (its tier, rule and version), else tier low with no rule.
"""

from dataclasses import dataclass, field
from typing import Any

from agents.guards.retries import TOOL_EXECUTION_GUARDS
from agents.models import Step, Task
from agents.runtime.gate import verdict_from_attributes
from approvals.gate import request_verdict
from approvals.models import ActionRequest
from tracing.models import Span
from tracing.recorder import TOOL_STATUS_ATTRIBUTE

# An original with more steps than this is not replayed (the agents' iteration limits are far lower).
MAX_STEPS = 200
# Spans read per task: a step writes a handful (guards, the model call, one per tool call).
MAX_SPANS = 20 * MAX_STEPS
# The request statuses that mean people decided the call does not run (the gate's `declined`).
_REFUSED = {"rejected", "expired", "cancelled"}
DERIVED_LOW_VERDICT = {"tier": "low", "rule": None, "decision": "allow", "policy_version": None}


@dataclass(frozen=True)
class CallRecord:
    step: int
    call: int
    tool: str
    arguments: Any  # the model's arguments: an object, or the raw text it could not parse
    verdict: dict[str, Any] | None
    status: str  # the tool span's tollgate.tool.status: success | error | declined ("" if none)
    declined: str  # why the call did not run, if it did not: rejected, expired, person_must_act, ...
    result: dict[str, Any] | None  # what the tool, or the gate instead, answered (before inspection)


@dataclass(frozen=True)
class StepRecord:
    index: int
    reply: dict[str, Any] | None  # the model's reply (Step.response); None if the step never ran
    calls: list[CallRecord] = field(default_factory=list)
    guards: list[dict[str, str]] = field(default_factory=list)  # non-allow guard decisions


@dataclass(frozen=True)
class TaskRecord:
    status: str
    stop_reason: str
    result: str
    steps: list[StepRecord]


def task_record(task: Task) -> TaskRecord:
    """The task's steps, calls, verdicts and guard decisions, in order (three queries)."""
    steps = list(Step.objects.filter(task=task).order_by("index")[: MAX_STEPS + 1])
    spans = list(
        Span.objects.filter(trace__task=task, kind__in=(Span.Kind.TOOL, Span.Kind.GUARDRAIL))
        .order_by("started_at", "id")
        .only("kind", "step_index", "attributes", "output")[:MAX_SPANS]
    )
    requests = {
        (request.step_index, request.call_index): request
        for request in ActionRequest.objects.filter(task=task).only(
            "step_index", "call_index", "tier", "rule_id", "rule_snapshot", "policy_version", "status"
        )
    }
    tool_spans: dict[tuple[int, str], list[Span]] = {}
    guards: dict[int, list[dict[str, str]]] = {}
    for span in spans:
        index = span.step_index if span.step_index is not None else -1
        if span.kind == Span.Kind.TOOL:
            call_id = str(span.attributes.get("gen_ai.tool.call.id", ""))
            tool_spans.setdefault((index, call_id), []).append(span)
        elif span.attributes.get("tollgate.guardrail.name") not in TOOL_EXECUTION_GUARDS:
            # A replay executes no tool, so it cannot repeat these; the results they left are
            # compared as the calls' results.
            guards.setdefault(index, []).append(
                {
                    "guard": str(span.attributes.get("tollgate.guardrail.name", "")),
                    "verdict": str(span.attributes.get("tollgate.guardrail.verdict", "")),
                }
            )
    records = []
    for step in steps[:MAX_STEPS]:
        calls = [
            _call_record(step, number, call, tool_spans, requests)
            for number, call in enumerate((step.response or {}).get("tool_calls") or [])
        ]
        records.append(StepRecord(step.index, step.response, calls, guards.pop(step.index, [])))
    # A step that stopped before its model call (a guard halted or parked it) has guards only.
    records += [StepRecord(index, None, [], found) for index, found in sorted(guards.items()) if index >= 0]
    records.sort(key=lambda record: record.index)
    return TaskRecord(status=task.status, stop_reason=task.stop_reason, result=task.result, steps=records)


def _call_record(
    step: Step,
    number: int,
    call: dict[str, Any],
    tool_spans: dict[tuple[int, str], list[Span]],
    requests: dict[tuple[int, int], ActionRequest],
) -> CallRecord:
    found = tool_spans.get((step.index, str(call.get("id", "")))) or []
    span = found.pop(0) if found else None
    request = requests.get((step.index, number))
    attributes = span.attributes if span is not None else {}
    verdict = verdict_from_attributes(attributes)
    if verdict is None and request is not None:
        verdict = request_verdict(request)
    elif verdict is None and span is not None:
        verdict = dict(DERIVED_LOW_VERDICT)
    declined = str(attributes.get("tollgate.approval.decision", ""))
    if span is None and request is not None and request.status in _REFUSED:
        declined = request.status
    stored = step.tool_results[number] if number < len(step.tool_results or []) else None
    result = span.output if span is not None and isinstance(span.output, dict) else stored
    arguments = call.get("arguments")
    return CallRecord(
        step=step.index,
        call=number,
        tool=str(call.get("name", "")),
        arguments=arguments if arguments is not None else call.get("raw_arguments"),
        verdict=verdict,
        status=str(attributes.get(TOOL_STATUS_ATTRIBUTE, "")),
        declined=declined,
        result=result,
    )
