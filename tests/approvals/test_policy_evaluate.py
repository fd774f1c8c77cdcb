"""Rule matching: globs, agents, CEL conditions, priority order, defaults."""

import pytest

from approvals.models import PolicyRule
from approvals.policy.conditions import CallConditions, ConditionError, condition_check
from approvals.policy.evaluate import policy_decide


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
