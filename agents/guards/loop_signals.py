"""What loop detection reads from a conversation: pure functions, no database, no model.

A model output is its text plus its tool-call intent ("call search {"q": "x"}"), which is
what gets embedded. What the output got back is summarised as the set of values in its tool
results: repeating an output is a loop only while it brings back nothing new. Pagination and
polling repeat their calls on purpose, but every page or progress report carries new values.
"""

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

# Results are summarised by at most this many values, enough for any page a model reads.
MAX_RESULT_VALUES = 500
# An output is compared with the one before it and the one before that, so that an agent
# oscillating between two answers (A, B, A, B) is caught as well as one repeating itself.
LOOKBACK = 2


@dataclass(frozen=True)
class PreviousOutput:
    """The latest model output in the conversation and the tool messages that answered it."""

    message: dict[str, Any]
    tool_messages: list[dict[str, Any]]


@dataclass(frozen=True)
class OutputRecord:
    vector: npt.NDArray[np.float32]
    result_values: frozenset[str]


def previous_output(messages: list[dict[str, Any]]) -> PreviousOutput | None:
    for position in range(len(messages) - 1, -1, -1):
        message = messages[position]
        if message.get("role") == "assistant":
            answers = [m for m in messages[position + 1 :] if m.get("role") == "tool"]
            return PreviousOutput(message=message, tool_messages=answers)
    return None


def output_text(message: dict[str, Any]) -> str:
    lines = [str(message.get("content") or "").strip()]
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        lines.append(f"call {function.get('name', '')} {canonical_arguments(function.get('arguments'))}")
    return "\n".join(line for line in lines if line)


def canonical_arguments(raw: Any) -> str:
    """Arguments in one spelling: key order and whitespace never make two calls differ."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return raw.strip()
    return json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def result_values(output: PreviousOutput) -> list[str]:
    """Short hashes of every value in the tool results that answered `output`.

    Values echoed from the call's own arguments count: a paginating call's `page` or a
    counter is progress, even though it means a paraphrased query echoed back by a search
    tool is progress too (bench/README.md: vector_bench).
    """
    values: set[str] = set()
    for message in output.tool_messages:
        values |= {_digest(value) for value in _leaves(_decoded(message.get("content")))}
    return sorted(values)[:MAX_RESULT_VALUES]


def loop_similarities(records: list[OutputRecord], *, threshold: float, window: int) -> list[float] | None:
    """The similarities that make the last `window` outputs a loop, or None if they are not one.

    `records` run oldest to newest. Each of the last `window` outputs must be more similar
    than `threshold` to one of the LOOKBACK outputs before it and have brought back no value
    that output did not.
    """
    if len(records) < window + 1:
        return None
    found = []
    for position in range(len(records) - window, len(records)):
        current = records[position]
        best = None
        for earlier in records[max(position - LOOKBACK, 0) : position]:
            similarity = float(np.dot(current.vector, earlier.vector))
            if similarity > threshold and current.result_values <= earlier.result_values:
                best = similarity if best is None else max(best, similarity)
        if best is None:
            return None
        found.append(round(best, 4))
    return found


def repeated_tool_call(messages: list[dict[str, Any]], *, limit: int) -> tuple[str, str, int] | None:
    """A tool call of the latest step made `limit` times in this task with the same arguments
    and the same result, as (tool, canonical arguments, count); None if there is none.

    The guard runs before every step, so a repetition reaching the limit always includes the
    latest step's calls: only calls of those tools are compared. Only the messages since the
    task's input count: the session's earlier tasks may repeat a lookup legitimately. Results
    are compared as stored, already canonical JSON (agents/runtime/messages.py: tool_message).
    """
    start = 0
    for position in range(len(messages) - 1, -1, -1):
        if messages[position].get("role") == "user":
            start = position + 1
            break
    latest = previous_output(messages[start:])
    if latest is None:
        return None
    names = {
        str((call.get("function") or {}).get("name", "")) for call in latest.message.get("tool_calls") or []
    }
    calls: dict[str, tuple[str, str]] = {}
    seen: Counter[tuple[str, str, str]] = Counter()
    for message in messages[start:]:
        if message.get("role") == "assistant":
            for call in message.get("tool_calls") or []:
                function = call.get("function") or {}
                name = str(function.get("name", ""))
                if name in names:
                    calls[call.get("id", "")] = (name, canonical_arguments(function.get("arguments")))
        elif message.get("role") == "tool" and message.get("tool_call_id") in calls:
            name, arguments = calls[message["tool_call_id"]]
            seen[(name, arguments, str(message.get("content")))] += 1
    for call in latest.message.get("tool_calls") or []:
        if call.get("id") in calls:
            name, arguments = calls[call["id"]]
            answer = next((m for m in latest.tool_messages if m.get("tool_call_id") == call["id"]), None)
            count = seen[(name, arguments, str(answer.get("content")))] if answer else 0
            if count >= limit:
                return name, arguments, count
    return None


def _decoded(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


def _digest(value: Any) -> str:
    return hashlib.blake2b(json.dumps(value, sort_keys=True).encode(), digest_size=8).hexdigest()
