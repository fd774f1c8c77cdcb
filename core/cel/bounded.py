"""The bounded evaluation every CEL expression of the project goes through, evaluated by a
library, never by eval: one expression's value (not only a condition's boolean) over one set of
facts, within a deadline.

In this process only when the expression has no comprehension macro and the facts are small
(then it finishes within milliseconds), otherwise in an evaluator child process that is killed
when the deadline passes (sandbox.py). The risk policy's rule conditions and the eval suites'
assertions go through it as conditions (conditions.py); compensations' argument mappings
(agents/tools/compensation.py) call it directly: each argument is an expression over the
original call.
"""

import json
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cel

from core.cel.limits import ConditionLimitError, condition_has_no_macro, condition_limits_check
from core.cel.sandbox import SandboxError, sandbox

MAX_ERROR_CHARS = 300
# Facts larger than this (as JSON) are not evaluated at all: the expression fails closed.
MAX_FACTS_CHARS = 1_000_000
# Macro-free expressions on facts up to this size run in this process. The worst case found,
# a 500-character chain of `+` over a 4 KB string argument, took 13 ms on the 2-core development
# machine under load (bench/condition_eval.py); one typical evaluation takes ~0.06 ms here and
# ~0.2 ms through the evaluator process.
IN_PROCESS_MAX_FACTS_CHARS = 4096


class ConditionError(ValueError):
    """A condition that is over a limit or does not compile; the message says which."""


@lru_cache(maxsize=1024)
def condition_compile(source: str) -> Any:
    """The compiled program; only for sources within the limits (the parser crashes on some
    larger ones)."""
    try:
        return cel.compile(source)
    except ValueError as exc:
        raise ConditionError(f"the condition is not valid CEL: {_brief(str(exc))}") from exc


@dataclass(frozen=True)
class CelOutcome:
    """An evaluation's JSON value, or why there is none (`error` non-empty)."""

    value: Any = None
    error: str = ""
    # The type of a result JSON cannot hold (`error` says so), for a caller that words it.
    not_json: str = ""


def cel_evaluate_bounded(
    source: str,
    facts: dict[str, Any],
    *,
    deadline: float,
    budget_ms: int,
    facts_json: str | None = None,
    subject: str = "facts",
    scope: str = "",
) -> CelOutcome:
    """Evaluate `source` (checked by condition_check when it was saved) over `facts` by
    `deadline` (time.monotonic()).

    Every failure is an outcome with an error, never an exception: a runtime error of the
    library (division by zero, a missing key, mismatched types, overflow), a result JSON cannot
    hold, facts that are not plain JSON or too large, or the deadline passing (`budget_ms`, the
    budget it stands for, is named in the message). `facts_json`: the facts already encoded,
    for a caller that evaluates several expressions over the same facts. `subject` and `scope`:
    what the facts and the expressions sharing the budget are called in a message.
    """
    if time.monotonic() >= deadline:
        budget = f"the {budget_ms} ms budget for {scope}" if scope else f"the {budget_ms} ms budget"
        return CelOutcome(error=f"not evaluated: {budget} ran out")
    if facts_json is None:
        try:
            facts_json = json.dumps(facts, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError, RecursionError):
            return CelOutcome(error=f"not evaluated: the {subject} are not plain JSON")
    if len(facts_json) > MAX_FACTS_CHARS:
        return CelOutcome(error=f"not evaluated: the {subject} exceed {MAX_FACTS_CHARS} characters as JSON")
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
        return _not_json(type(value).__name__)
    return CelOutcome(value=value)


def _in_sandbox(source: str, facts_json: str, *, deadline: float, budget_ms: int) -> CelOutcome:
    try:
        reply = sandbox().evaluate(source=source, facts_json=facts_json, deadline=deadline)
    except SandboxError as exc:
        return CelOutcome(error=f"stopped: {exc} (budget {budget_ms} ms)")
    if "value" in reply:
        return CelOutcome(value=reply["value"])
    if "type" in reply:
        return _not_json(str(reply["type"]))
    return CelOutcome(error=_brief(str(reply.get("error") or "the evaluator gave no answer")))


def _not_json(type_name: str) -> CelOutcome:
    return CelOutcome(error=f"the expression gave {type_name}, which is not JSON", not_json=type_name)


def _bounded(source: str) -> bool:
    """No comprehension and within the limits: safe to parse and run in this process."""
    if not condition_has_no_macro(source):
        return False
    try:
        condition_limits_check(source)
    except ConditionLimitError:
        return False
    return True


def _brief(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "unknown error"
    return line if len(line) <= MAX_ERROR_CHARS else line[:MAX_ERROR_CHARS] + "…"
