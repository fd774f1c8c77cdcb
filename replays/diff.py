"""A replay against its original: per step and call, what the runtime decided each time.

Compared: each call's tool and arguments, the policy's tier, decision and rule, how the call
ended (its span's status, and what people decided); each step's guard decisions (loop
detection included); the task's final status, stop reason and result. The policy version is
shown but not compared: a replay under another version differs there by design.
"""

from typing import Any

from agents.models import Task
from replays.models import Replay
from replays.record import CallRecord, StepRecord, TaskRecord, task_record

CALL_FIELDS = ("tool", "arguments", "tier", "decision", "rule", "status", "outcome")
TASK_FIELDS = ("status", "stop_reason", "result")


def replay_diff(replay: Replay) -> dict[str, Any]:
    """{"finished", "identical", "differences": [...], "outcome": {...}, "steps": [...]}: every
    difference once in `differences` (step, call, field, original, replay), and side by side
    per step. Identical once the replay has finished and nothing differs."""
    original, replayed = task_record(replay.original), task_record(replay.task)
    differences: list[dict[str, Any]] = []
    outcome = {"original": _task_view(original), "replay": _task_view(replayed)}
    finished = replay.task.status in Task.FINAL_STATUSES
    if finished:
        differences += _changes(outcome["original"], outcome["replay"], TASK_FIELDS, step=None, call=None)
    steps = []
    by_index = {record.index: record for record in replayed.steps}
    for index in sorted({record.index for record in original.steps} | set(by_index)):
        before = next((record for record in original.steps if record.index == index), None)
        after = by_index.get(index)
        if after is None and not finished:
            continue  # not run yet
        steps.append(_step_diff(index, before, after, differences))
    return {
        "finished": finished,
        "identical": finished and not differences,
        "differences": differences,
        "outcome": outcome,
        "steps": steps,
    }


def _task_view(record: TaskRecord) -> dict[str, Any]:
    return {"status": record.status, "stop_reason": record.stop_reason, "result": record.result}


def _step_diff(
    index: int, before: StepRecord | None, after: StepRecord | None, differences: list[dict[str, Any]]
) -> dict[str, Any]:
    found = len(differences)
    if before is None or after is None:
        differences.append(_difference(index, None, "step", before is not None, after is not None))
    guards_before = before.guards if before else []
    guards_after = after.guards if after else []
    if before is not None and after is not None and guards_before != guards_after:
        differences.append(_difference(index, None, "guards", guards_before, guards_after))
    calls_before = before.calls if before else []
    calls_after = after.calls if after else []
    calls = []
    for number in range(max(len(calls_before), len(calls_after))):
        left = _call_view(calls_before[number]) if number < len(calls_before) else None
        right = _call_view(calls_after[number]) if number < len(calls_after) else None
        if before is not None and after is not None:
            if left is None or right is None:
                differences.append(_difference(index, number, "call", left is not None, right is not None))
            else:
                differences += _changes(left, right, CALL_FIELDS, step=index, call=number)
        calls.append({"index": number, "original": left, "replay": right})
    return {
        "index": index,
        "changed": len(differences) > found,
        "guards": {"original": guards_before, "replay": guards_after},
        "calls": calls,
    }


def _call_view(record: CallRecord) -> dict[str, Any]:
    verdict = record.verdict or {}
    return {
        "tool": record.tool,
        "arguments": record.arguments,
        "tier": verdict.get("tier"),
        "decision": verdict.get("decision"),
        "rule": verdict.get("rule"),
        "policy_version": verdict.get("policy_version"),
        "status": record.status,
        "outcome": record.decision,
    }


def _changes(
    before: dict[str, Any],
    after: dict[str, Any],
    fields: tuple[str, ...],
    *,
    step: int | None,
    call: int | None,
) -> list[dict[str, Any]]:
    return [
        _difference(step, call, name, before.get(name), after.get(name))
        for name in fields
        if before.get(name) != after.get(name)
    ]


def _difference(step: int | None, call: int | None, name: str, before: Any, after: Any) -> dict[str, Any]:
    return {"step": step, "call": call, "field": name, "original": before, "replay": after}
