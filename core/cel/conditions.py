"""Conditions in CEL (Common Expression Language): boolean expressions, checked against the
limits (limits.py) when they are saved and evaluated on one set of facts within one time budget
by the project's bounded evaluation (bounded.py). The risk policy's rule conditions
(approvals/policy/conditions.py) and the eval suites' assertions (evals/checks/) are conditions.
"""

import json
import time
from functools import cached_property
from typing import Any

from core.cel.bounded import ConditionError, cel_evaluate_bounded, condition_compile
from core.cel.limits import ConditionLimitError, condition_limits_check


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

    # What the facts and the conditions are called in an error message.
    subject = "facts"
    scope = "these conditions"

    def __init__(self, *, facts: dict[str, Any], budget_s: float) -> None:
        self.facts = facts
        self.budget_s = budget_s
        self.deadline = time.monotonic() + budget_s

    @cached_property
    def facts_json(self) -> str | None:
        """The facts encoded once for all the conditions; None when they are not plain JSON
        (then each evaluation says so)."""
        try:
            return json.dumps(self.facts, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError, RecursionError):
            return None

    def matches(self, source: str) -> tuple[bool, str]:
        if not source.strip():
            return True, ""
        outcome = cel_evaluate_bounded(
            source,
            self.facts,
            deadline=self.deadline,
            budget_ms=round(self.budget_s * 1000),
            facts_json=self.facts_json,
            subject=self.subject,
            scope=self.scope,
        )
        if outcome.not_json:
            return _not_boolean(outcome.not_json)
        if outcome.error:
            return False, outcome.error
        if isinstance(outcome.value, bool):
            return outcome.value, ""
        return _not_boolean(type(outcome.value).__name__)


def _not_boolean(type_name: str) -> tuple[bool, str]:
    return False, f"the condition gave {type_name}, not a boolean"
