"""Bounded CEL (Common Expression Language) evaluation: a library, never eval.

The one evaluator of the project: the risk policy's rule conditions (approvals/policy/conditions.py)
and compensations' argument mappings (agents/tools/compensation.py) both run here. An expression is
checked against the limits (cel_limits.py) when it is saved, and evaluated within a deadline:
in this process only when it has no comprehension macro and its facts are small (then it
finishes within milliseconds), otherwise in an evaluator child process that is killed when the
deadline passes (cel_sandbox.py).
"""

import json
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cel

from core.cel_limits import ConditionLimitError, condition_has_no_macro, condition_limits_check
from core.cel_sandbox import SandboxError, sandbox

MAX_ERROR_CHARS = 300
# Facts larger than this (as JSON) are not evaluated at all: the caller gets an error.
MAX_FACTS_CHARS = 1_000_000
# Macro-free expressions on facts up to this size run in this process. The worst case found,
# a 500-character chain of `+` over a 4 KB string argument, took 13 ms on the 2-core development
# machine under load (bench/condition_eval.py); one typical evaluation takes ~0.06 ms here and
# ~0.2 ms through the evaluator process.
IN_PROCESS_MAX_FACTS_CHARS = 4096


class CelError(ValueError):
    """An expression that is over a limit or does not compile; the message says which."""


@dataclass(frozen=True)
class CelOutcome:
    """An evaluation's JSON value, or why there is none (`error` non-empty)."""

    value: Any = None
    error: str = ""


@lru_cache(maxsize=1024)
def cel_compile(source: str, *, what: str = "the condition") -> Any:
    """The compiled program; only for sources within the limits (the parser crashes on some
    larger ones)."""
    try:
        return cel.compile(source)
    except ValueError as exc:
        raise CelError(f"{what} is not valid CEL: {cel_error_brief(str(exc))}") from exc


def cel_check(source: str, *, what: str = "the condition") -> None:
    """Raise CelError if `source` is over a limit or is not a CEL expression; `what` names it
    in the message."""
    try:
        condition_limits_check(source, what=what)
    except ConditionLimitError as exc:
        raise CelError(str(exc)) from exc
    cel_compile(source, what=what)


def cel_evaluate_bounded(
    source: str,
    facts: dict[str, Any],
    *,
    deadline: float,
    budget_ms: int,
    facts_json: str | None = None,
) -> CelOutcome:
    """Evaluate `source` over `facts` (plain JSON) by `deadline` (time.monotonic()).

    Every failure is an outcome with an error, never an exception: a runtime error of the
    library (division by zero, a missing key, mismatched types, overflow), a result JSON cannot
    hold, facts that are not plain JSON or too large, or the deadline passing (`budget_ms` is
    the budget it stands for, named in the message). `facts_json`: the facts already encoded,
    for a caller that evaluates many expressions over the same facts.
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
        value = cel_compile(source).execute(facts)
    except CelError as exc:
        return CelOutcome(error=str(exc))
    except BaseException as exc:
        # Whatever the library raises is the expression's error; a Rust panic inside it
        # arrives as pyo3's PanicException, which is not an Exception.
        if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
            raise
        return CelOutcome(error=cel_error_brief(f"{type(exc).__name__}: {exc}"))
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
    return CelOutcome(error=cel_error_brief(str(reply.get("error") or "the evaluator gave no answer")))


def _bounded(source: str) -> bool:
    """No comprehension and within the limits: safe to parse and run in this process."""
    if not condition_has_no_macro(source):
        return False
    try:
        condition_limits_check(source)
    except ConditionLimitError:
        return False
    return True


def cel_error_brief(text: str) -> str:
    """An error's first line, at most MAX_ERROR_CHARS long."""
    line = text.strip().splitlines()[0] if text.strip() else "unknown error"
    return line if len(line) <= MAX_ERROR_CHARS else line[:MAX_ERROR_CHARS] + "…"
