"""The gate's verdict on each call is on its tool span, and an earlier policy version can be asked."""

import pytest

from agents.models import Task
from approvals.policy.evaluate import policy_evaluate
from approvals.policy.services import policy_rule_create, policy_rule_update, tool_tier_set
from approvals.services import action_request_decide
from core.errors import NotFound
from tests.approvals.conftest import run, submit, the_request
from tests.factories import make_http_tool
from tracing.models import Span

pytestmark = pytest.mark.django_db(transaction=True)


def tool_span(task: Task) -> dict:
    return Span.objects.get(trace__task=task, kind="tool").attributes


def test_a_low_call_runs_with_its_verdict_on_the_span(requester, admin, chain_agent):
    tool, _ = chain_agent
    tool_tier_set(actor=admin, tool=tool, tier="low")
    task = submit(requester)
    run(task)
    attributes = tool_span(task)
    assert attributes["tollgate.gate.tier"] == "low"
    assert attributes["tollgate.gate.decision"] == "allow"
    assert attributes["tollgate.gate.policy_version"] == 1
    assert "tollgate.gate.rule" not in attributes  # the tool's default tier decided


def test_an_approved_call_carries_the_rule_that_held_it(requester, reviewer, admin, chain_agent):
    rule = policy_rule_create(actor=admin, tool="refund_tool", tier="high")
    task = submit(requester)
    run(task)
    action_request_decide(action_request=the_request(task), actor=reviewer, decision="approve")
    run(task)
    attributes = tool_span(task)
    assert (attributes["tollgate.gate.tier"], attributes["tollgate.gate.decision"]) == ("high", "approval")
    assert attributes["tollgate.gate.rule"] == rule.pk


def test_a_critical_call_is_denied_in_its_verdict(requester, admin, chain_agent):
    tool, _ = chain_agent
    tool_tier_set(actor=admin, tool=tool, tier="critical")
    task = submit(requester)
    run(task)
    attributes = tool_span(task)
    assert (attributes["tollgate.gate.tier"], attributes["tollgate.gate.decision"]) == ("critical", "deny")


def test_an_earlier_policy_version_decides_with_its_own_rules_and_tiers(admin, tool_server):
    url, _ = tool_server
    tool = make_http_tool("refund_tool", url, risk_tier="low")
    rule = policy_rule_create(actor=admin, tool="refund_tool", condition="args.i > 5", tier="medium")  # v1
    policy_rule_update(actor=admin, rule_id=rule.pk, tier="high")  # v2
    tool = tool_tier_set(actor=admin, tool=tool, tier="critical")  # v3

    def tier(version: int | None, i: int) -> tuple[str, int | None, int]:
        decision = policy_evaluate(
            tool="refund_tool", agent="a", args={"i": i}, default_tier=tool.risk_tier, policy_version=version
        )
        return decision.tier.value, decision.rule_id, decision.policy_version

    # The tool is critical now; each earlier version still had it at low.
    assert tier(1, 9) == ("medium", rule.pk, 1)
    assert tier(1, 1) == ("low", None, 1)
    assert tier(2, 9) == ("high", rule.pk, 2)
    assert tier(2, 1) == ("low", None, 2)
    assert tier(3, 1) == ("critical", None, 3)
    assert tier(None, 1) == ("critical", None, 3)
    with pytest.raises(NotFound):
        tier(4, 1)
