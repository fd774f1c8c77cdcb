"""CEL assertions over what a task did (`result`, `calls`, `usage`, `status`, `stop_reason`),
through the project's bounded evaluation (core/cel): the same limits as a policy rule's
condition when saved, one time budget for all of a case's assertions when evaluated."""

from core.cel.conditions import Conditions

# All the assertions of one case share this budget; an assertion past it fails.
CASE_CEL_BUDGET_S = 1.0


class CaseAssertions(Conditions):
    subject = "task's facts"
    scope = "this case's assertions"


def assertions_for(facts: dict, *, budget_s: float = CASE_CEL_BUDGET_S) -> CaseAssertions:
    return CaseAssertions(facts=facts, budget_s=budget_s)
