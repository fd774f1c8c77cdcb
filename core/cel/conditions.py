"""Conditions in CEL (Common Expression Language), evaluated by a library, never by eval.

The bounded evaluation every CEL expression of the project goes through: the risk policy's
rule conditions (approvals/policy/conditions.py) and the eval suites' assertions (evals/checks/).
A condition is checked against the limits (limits.py) when it is saved, and evaluated on one
set of facts within a time budget: in this process only when it has no comprehension macro and
the facts are small (then it finishes within milliseconds), otherwise in an evaluator child
process that is killed when the budget runs out (sandbox.py).
"""

import json
import time
from functools import cached_property, lru_cache
from typing import Any

import cel

from core.cel.limits import (
    ConditionLimitError,
    condition_has_no_macro,
    condition_limits_check,
)
from core.cel.sandbox import SandboxError, sandbox

MAX_ERROR_CHARS = 300
# Facts larger than this (as JSON) are not evaluated at all: the condition fails closed.
MAX_FACTS_CHARS = 1_000_000
# Macro-free conditions on facts up to this size run in this process. The worst case found,
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


def condition_check(source: str) -> None:
    """Raise ConditionError if `source` is over a limit or is not a CEL expression."""
    try:
        condition_limits_check(source)
    except ConditionLimitError as exc:
        raise ConditionError(str(exc)) from exc
    condition_compile(source)


class Conditions:
    """Conditions over one set of facts, evaluated within one time budget.

    `matches(source)` answers (matched, error). Any failure, a runtime error of the library
    (division by zero, a missing key, mismatched types, overflow), a non-boolean result, or the
    budget running out, is an error; the caller decides what an error means (policy_decide
    fails closed, an eval check fails).
    """

    def __init__(self, *, facts: dict[str, Any], budget_s: float) -> None:
        self.facts = facts
        self.budget_s = budget_s
        self.deadline = time.monotonic() + budget_s

    @cached_property
    def facts_json(self) -> str:
        return json.dumps(self.facts, separators=(",", ":"), allow_nan=False)

    def matches(self, source: str) -> tuple[bool, str]:
        if not source.strip():
            return True, ""
        if time.monotonic() >= self.deadline:
            return False, f"not evaluated: the {self._budget_ms} ms budget for {self.scope} ran out"
        try:
            size = len(self.facts_json)
        except (TypeError, ValueError, RecursionError):
            return False, f"not evaluated: the {self.subject} are not plain JSON"
        if size > MAX_FACTS_CHARS:
            return False, f"not evaluated: the {self.subject} exceed {MAX_FACTS_CHARS} characters as JSON"
        if size <= IN_PROCESS_MAX_FACTS_CHARS and _bounded(source):
            return self._in_process(source)
        return self._in_sandbox(source)

    # What the facts and the conditions are called in an error message.
    subject = "facts"
    scope = "these conditions"

    @property
    def _budget_ms(self) -> int:
        return round(self.budget_s * 1000)

    def _in_process(self, source: str) -> tuple[bool, str]:
        try:
            value = condition_compile(source).execute(self.facts)
        except ConditionError as exc:
            return False, str(exc)
        except BaseException as exc:
            # Whatever the library raises is the condition's error; a Rust panic inside it
            # arrives as pyo3's PanicException, which is not an Exception.
            if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
                raise
            return False, _brief(f"{type(exc).__name__}: {exc}")
        return _as_match(value)

    def _in_sandbox(self, source: str) -> tuple[bool, str]:
        try:
            reply = sandbox().evaluate(source=source, facts_json=self.facts_json, deadline=self.deadline)
        except SandboxError as exc:
            return False, f"stopped: {exc} (budget {self._budget_ms} ms)"
        if "value" in reply:
            return _as_match(reply["value"])
        if "type" in reply:
            return False, f"the condition gave {reply['type']}, not a boolean"
        return False, _brief(str(reply.get("error") or "the evaluator gave no answer"))


def _bounded(source: str) -> bool:
    """No comprehension and within the limits: safe to parse and run in this process."""
    if not condition_has_no_macro(source):
        return False
    try:
        condition_limits_check(source)
    except ConditionLimitError:
        return False
    return True


def _as_match(value: Any) -> tuple[bool, str]:
    if isinstance(value, bool):
        return value, ""
    return False, f"the condition gave {type(value).__name__}, not a boolean"


def _brief(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "unknown error"
    return line if len(line) <= MAX_ERROR_CHARS else line[:MAX_ERROR_CHARS] + "…"
