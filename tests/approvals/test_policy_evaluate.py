"""Rule matching: globs, agents, CEL conditions, priority order, defaults."""

import pytest
from django.test import override_settings

from approvals.models import PolicyRule
from approvals.policy.conditions import CallConditions
from approvals.policy.evaluate import policy_decide
from core.cel.conditions import ConditionError, condition_check


def rule(pk: int, **fields) -> PolicyRule:
    values = {"tool": "*", "tier": "low", "priority": 0, "delay_s": 300, "approvals_required": 1}
    values.update(fields)
    return PolicyRule(pk=pk, **values)


def decide(rules, *, tool="issue_refund", agent="support-bot", args=None, default="medium"):
    ordered = sorted(rules, key=lambda r: (-r.priority, r.pk))
    return policy_decide(
        tool=tool, agent=agent, args=args or {}, default_tier=default, rules=ordered, policy_version=7
    )


def matches(source: str, *, args=None, tool="t", agent="a") -> tuple[bool, str]:
    return CallConditions(args=args or {}, tool=tool, agent=agent).matches(source)


def test_no_rule_matching_gives_the_tools_default_tier():
    decision = decide([rule(1, tool="send_*", tier="critical")], default="medium")
    assert decision.tier == "medium"
    assert decision.rule is None
    assert decision.policy_version == 7


def test_a_cel_condition_on_the_arguments_raises_a_refund_to_high():
    rules = [rule(1, tool="issue_refund", condition="args.amount > 100", tier="high", approvals_required=2)]
    assert decide(rules, args={"amount": 150}).tier == "high"
    assert decide(rules, args={"amount": 150}).approvals_required == 2
    assert decide(rules, args={"amount": 50}).tier == "medium"


def test_rules_match_in_priority_order_and_the_first_match_decides():
    rules = [
        rule(1, tool="issue_*", tier="medium", priority=1),
        rule(2, tool="issue_refund", tier="critical", priority=10),
    ]
    decision = decide(rules)
    assert decision.tier == "critical"
    assert decision.rule_id == 2


def test_a_rule_for_another_agent_does_not_match():
    rules = [rule(1, tool="*", agent="other-bot", tier="critical")]
    assert decide(rules, default="low").tier == "low"
    assert decide(rules, agent="other-bot", default="low").tier == "critical"


def test_glob_matches_whole_names_case_sensitively():
    rules = [rule(1, tool="issue_*", tier="high")]
    assert decide(rules, tool="issue_refund", default="low").tier == "high"
    assert decide(rules, tool="reissue_refund", default="low").tier == "low"
    assert decide(rules, tool="ISSUE_refund", default="low").tier == "low"


def test_a_condition_that_fails_at_run_time_fails_closed_to_high_and_says_why():
    """Before: an erroring condition did not match, so the call fell to the tool's lower default."""
    rules = [rule(1, condition="args.amount > 100", tier="medium")]
    decision = decide(rules, args={"order_id": "A-1"}, default="low")
    assert decision.tier == "high"
    assert decision.rule_id == 1
    assert decision.sla_s == 15 * 60
    assert decision.errors == ["rule 1: KeyError: 'amount'"]
    # Mixed types are an error in CEL, not a silent coercion.
    assert matches("args.amount > 100", args={"amount": "150"})[0] is False


def test_conditions_see_tool_and_agent_and_need_a_boolean():
    assert matches('tool == "x" && agent == "a"', tool="x", agent="a") == (True, "")
    matched, error = matches("args.amount", args={"amount": 3})
    assert matched is False
    assert "boolean" in error


@pytest.mark.parametrize("source", ["args.amount >", "args.amount > > 1", "1 +"])
def test_invalid_cel_does_not_compile(source):
    with pytest.raises(ConditionError):
        condition_check(source)


def test_python_in_a_condition_is_not_python():
    """Conditions are CEL run by a library: Python builtins are unknown functions, never called."""
    matched, error = matches("__import__('os') == 1")
    assert matched is False
    assert error


def test_a_failing_condition_never_lowers_a_critical_rule_below_it():
    """The model controls the arguments: making a higher-priority rule fail must not let a call
    escape a later critical rule (the fail-closed tier is the highest it could have been)."""
    rules = [
        rule(1, condition="args.total / args.qty > 10", tier="medium", priority=10),
        rule(2, tool="issue_refund", condition="args.total > 1000", tier="critical", priority=0),
    ]
    decision = decide(rules, args={"total": 5000, "qty": 0}, default="low")
    assert decision.tier == "critical"
    assert decision.rule_id == 2
    assert decision.errors == ["rule 1: ZeroDivisionError: division by zero in CEL expression"]


def test_a_failing_critical_rule_stays_critical_and_a_tie_goes_to_the_failed_rule():
    critical = [rule(1, condition="args.x > 1", tier="critical")]
    assert decide(critical, args={}, default="low").tier == "critical"
    rules = [
        rule(1, condition="args.x > 1", tier="low", priority=5, approvals_required=3),
        rule(2, tier="high", priority=0, approvals_required=1),
    ]
    decision = decide(rules, args={}, default="low")
    assert (decision.tier, decision.rule_id, decision.approvals_required) == ("high", 1, 3)


def test_a_call_whose_budget_runs_out_gets_the_highest_tier_any_unchecked_rule_could_give():
    rules = [
        rule(1, condition="args.i.exists(x, args.i.exists(y, x == y + 5000))", tier="low", priority=9),
        rule(2, condition="args.i.size() > 100000", tier="critical", priority=1),
    ]
    with override_settings(POLICY_EVAL_BUDGET_MS=200):
        decision = decide(rules, args={"i": list(range(3000))}, default="low")
    assert decision.tier == "critical"
    assert decision.errors[0] == "rule 1: stopped: timed out (budget 200 ms)"
    assert decision.errors[1] == "rule 2: not evaluated: the 200 ms budget for this call's conditions ran out"
