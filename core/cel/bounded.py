"""One CEL expression's value (not only a condition's boolean), within a deadline.

The same bounded path as conditions (conditions.py): the limits, the compiled-program cache, in
this process only for a macro-free expression over small facts, otherwise in the killable
evaluator process (sandbox.py). Compensations' argument mappings (agents/tools/compensation.py)
use it: each argument is an expression over the original call.
"""

import json
import time
from dataclasses import dataclass
from typing import Any

from core.cel.conditions import (
    IN_PROCESS_MAX_FACTS_CHARS,
    MAX_FACTS_CHARS,
    ConditionError,
    _bounded,
    _brief,
    condition_compile,
)
from core.cel.sandbox import SandboxError, sandbox


@dataclass(frozen=True)
class CelOutcome:
    """An evaluation's JSON value, or why there is none (`error` non-empty)."""

    value: Any = None
    error: str = ""


def cel_evaluate_bounded(
    source: str,
    facts: dict[str, Any],
    *,
    deadline: float,
    budget_ms: int,
    facts_json: str | None = None,
) -> CelOutcome:
    """Evaluate `source` (checked by condition_check when it was saved) over `facts` by
    `deadline` (time.monotonic()).

    Every failure is an outcome with an error, never an exception: a runtime error of the
    library (division by zero, a missing key, mismatched types, overflow), a result JSON cannot
    hold, facts that are not plain JSON or too large, or the deadline passing (`budget_ms`, the
    budget it stands for, is named in the message). `facts_json`: the facts already encoded,
    for a caller that evaluates several expressions over the same facts.
    """
    if time.monotonic() >= deadline:
        return CelOutcome(error=f"not evaluated: the {budget_ms} ms budget ran out")
    if facts_json is None:
        try:
            facts_json = json.dumps(facts, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError, RecursionError):
            return CelOutcome(error="not evaluated: the facts are not plain JSON")
    if len(facts_json) > MAX_FACTS_CHARS:
        return CelOutcome(error=f"not evaluated: the facts exceed {MAX_FACTS_CHARS} characters as JSON")
    if len(facts_json) <= IN_PROCESS_MAX_FACTS_CHARS and _bounded(source):
        return _in_process(source, facts)
    return _in_sandbox(source, facts_json, deadline=deadline, budget_ms=budget_ms)


def _in_process(source: str, facts: dict[str, Any]) -> CelOutcome:
    try:
        value = condition_compile(source).execute(facts)
    except ConditionError as exc:
        return CelOutcome(error=str(exc))
    except BaseException as exc:
        # Whatever the library raises is the expression's error; a Rust panic inside it
        # arrives as pyo3's PanicException, which is not an Exception.
        if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
            raise
        return CelOutcome(error=_brief(f"{type(exc).__name__}: {exc}"))
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return CelOutcome(error=f"the expression gave {type(value).__name__}, which is not JSON")
    return CelOutcome(value=value)


def _in_sandbox(source: str, facts_json: str, *, deadline: float, budget_ms: int) -> CelOutcome:
    try:
        reply = sandbox().evaluate(source=source, facts_json=facts_json, deadline=deadline)
    except SandboxError as exc:
        return CelOutcome(error=f"stopped: {exc} (budget {budget_ms} ms)")
    if "value" in reply:
        return CelOutcome(value=reply["value"])
    if "type" in reply:
        return CelOutcome(error=f"the expression gave {reply['type']}, which is not JSON")
    return CelOutcome(error=_brief(str(reply.get("error") or "the evaluator gave no answer")))
