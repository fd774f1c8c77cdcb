"""Rule conditions: CEL over one tool call's facts, through the project's bounded evaluation
(core/cel/conditions.py)."""

import copy
from typing import Any

from django.conf import settings

from core.cel.conditions import Conditions

UNTAINTED_SESSION: dict[str, Any] = {"tainted": False, "suspicious": False, "taint_sources": []}


class CallConditions(Conditions):
    """The conditions of one tool call, evaluated within one time budget (POLICY_EVAL_BUDGET_MS)."""

    subject = "arguments"
    scope = "this call's conditions"

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
        super().__init__(
            facts={
                "args": args,
                "tool": tool,
                "agent": agent,
                "tier": tier,
                "session": session or UNTAINTED_SESSION,
                "unseen_addresses": unseen_addresses or [],
            },
            budget_s=budget_s if budget_s is not None else settings.POLICY_EVAL_BUDGET_MS / 1000,
        )

    def at_tier(self, tier: str) -> "CallConditions":
        """The same call (and time budget) as seen by raise rules, once the others gave `tier`."""
        other = copy.copy(self)
        other.facts = {**self.facts, "tier": tier}
        other.__dict__.pop("facts_json", None)
        return other
