"""Rule conditions in CEL, evaluated by the project's bounded evaluator (core/cel.py).

A condition is checked against the limits (core/cel_limits.py) when it is saved, and all the
conditions of one call are evaluated within one time budget; a condition must give a boolean.
"""

import copy
import json
import time
from functools import cached_property
from typing import Any

from django.conf import settings

from core.cel import MAX_FACTS_CHARS, CelError, cel_check, cel_evaluate_bounded

UNTAINTED_SESSION: dict[str, Any] = {"tainted": False, "suspicious": False, "taint_sources": []}


# A condition over a limit or that does not compile; the message says which.
ConditionError = CelError


def condition_check(source: str) -> None:
    """Raise ConditionError if `source` is over a limit or is not a CEL expression."""
    cel_check(source, what="the condition")


class CallConditions:
    """The conditions of one tool call, evaluated within one time budget.

    `matches(source)` answers (matched, error). Any failure, a runtime error of the library
    (division by zero, a missing key, mismatched types, overflow), a non-boolean result, or the
    budget running out, is an error; the caller decides what an error means (policy_decide
    fails closed).
    """

    def __init__(
        self,
        *,
        args: dict[str, Any],
        tool: str,
        agent: str,
        tier: str = "low",
        session: dict[str, Any] | None = None,
        unseen_addresses: list[str] | None = None,
        budget_s: float | None = None,
    ) -> None:
        # `tier`: the tool's own tier, and in raise rules the tier the other rules gave the call.
        # `session` and `unseen_addresses`: its taint (docs/injection.md); a call outside a
        # session (a dry run) is untainted.
        self.facts = {
            "args": args,
            "tool": tool,
            "agent": agent,
            "tier": tier,
            "session": session or UNTAINTED_SESSION,
            "unseen_addresses": unseen_addresses or [],
        }
        budget = budget_s if budget_s is not None else settings.POLICY_EVAL_BUDGET_MS / 1000
        self.budget_s = budget
        self.deadline = time.monotonic() + budget

    def at_tier(self, tier: str) -> "CallConditions":
        """The same call (and time budget) as seen by raise rules, once the others gave `tier`."""
        other = copy.copy(self)
        other.facts = {**self.facts, "tier": tier}
        other.__dict__.pop("facts_json", None)
        return other

    @cached_property
    def facts_json(self) -> str:
        return json.dumps(self.facts, separators=(",", ":"), allow_nan=False)

    def matches(self, source: str) -> tuple[bool, str]:
        if not source.strip():
            return True, ""
        if time.monotonic() >= self.deadline:
            return False, f"not evaluated: the {self._budget_ms} ms budget for this call's conditions ran out"
        try:
            size = len(self.facts_json)
        except (TypeError, ValueError, RecursionError):
            return False, "not evaluated: the arguments are not plain JSON"
        if size > MAX_FACTS_CHARS:
            return False, f"not evaluated: the arguments exceed {MAX_FACTS_CHARS} characters as JSON"
        outcome = cel_evaluate_bounded(
            source, self.facts, deadline=self.deadline, budget_ms=self._budget_ms, facts_json=self.facts_json
        )
        if outcome.error:
            return False, outcome.error
        return _as_match(outcome.value)

    @property
    def _budget_ms(self) -> int:
        return round(self.budget_s * 1000)


def _as_match(value: Any) -> tuple[bool, str]:
    if isinstance(value, bool):
        return value, ""
    return False, f"the condition gave {type(value).__name__}, not a boolean"
