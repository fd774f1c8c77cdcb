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

CALL_FIELDS = ("tool", "arguments", "tier", "decision", "rule", "status", "declined")
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
    """A step missing on one side counts as one where nothing happened: its model reply, guard
    decisions and calls on the other side are the differences."""
    found = len(differences)
    before = before or StepRecord(index, None)
    after = after or StepRecord(index, None)
    replied = before.reply is not None, after.reply is not None
    if replied[0] != replied[1]:
        differences.append(_difference(index, None, "model_reply", *replied))
    if before.guards != after.guards:
        differences.append(_difference(index, None, "guards", before.guards, after.guards))
    calls = []
    for number in range(max(len(before.calls), len(after.calls))):
        left = _call_view(before.calls[number]) if number < len(before.calls) else None
        right = _call_view(after.calls[number]) if number < len(after.calls) else None
        if left is None or right is None:
            differences.append(_difference(index, number, "call", left is not None, right is not None))
        else:
            differences += _changes(left, right, CALL_FIELDS, step=index, call=number)
        calls.append({"index": number, "original": left, "replay": right})
    return {
        "index": index,
        "changed": len(differences) > found,
        "guards": {"original": before.guards, "replay": after.guards},
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
        "declined": record.declined,
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
