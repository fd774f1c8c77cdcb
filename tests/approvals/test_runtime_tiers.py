"""Each tier's path through the runtime, in-process against the real simulator and tool server."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine

from agents.models import Task
from agents.runtime.loop import RunOutcome
from approvals.models import ActionRequest, AuditEntry
from approvals.policy.services import policy_rule_create, tool_tier_set
from approvals.services import action_request_decide, action_requests_sweep
from core import clock
from core.errors import Conflict, Forbidden
from tests.approvals.conftest import make_reviewer, run, submit, the_request
from tracing.models import Span
from tracing.prompts import PROMPT_REF, prompt_reassemble
from tracing.recorder import COST_ATTRIBUTE

pytestmark = pytest.mark.django_db(transaction=True)


def tool_messages(task: Task) -> list[dict]:
    return [json.loads(m["content"]) for m in task.messages if m["role"] == "tool"]


def test_a_low_tier_call_runs_at_once_without_a_request(requester, admin, chain_agent):
    tool, server = chain_agent
    tool_tier_set(actor=admin, tool=tool, tier="low")
    task = submit(requester)
    assert run(task) is RunOutcome.FINISHED
    task.refresh_from_db()
    assert task.status == "succeeded"
    assert server.side_effects == 1
    assert not ActionRequest.objects.exists()


def test_a_high_call_parks_the_task_holding_no_worker_until_a_reviewer_approves(
    requester, reviewer, chain_agent
):
    _, server = chain_agent
    task = submit(requester)

    assert run(task) is RunOutcome.PARKED
    task.refresh_from_db()
    assert task.status == Task.Status.WAITING_APPROVAL
    assert task.lease_until is None
    request = the_request(task)
    assert request.status == "pending"
    assert (request.tool_name, request.arguments, request.step_index, request.call_index) == (
        "refund_tool",
        {"i": 1},
        0,
        0,
    )
    assert request.call_id
    assert len(request.request_hash) == 64
    assert server.requests == 0

    action_request_decide(action_request=request, actor=reviewer, decision="approve")
    task.refresh_from_db()
    assert task.status == Task.Status.QUEUED

    assert run(task) is RunOutcome.FINISHED
    task.refresh_from_db()
    request.refresh_from_db()
    assert task.status == "succeeded"
    assert request.status == "executed"
    assert request.result["status"] == "success"
    assert server.side_effects == 1
    assert server.keys_seen == [f"tollgate-ar-{request.id}-v1"]
    assert tool_messages(task)[0]["data"]["refund_id"] == "r1"


def test_a_rejection_with_a_comment_reaches_the_model_as_the_tools_result(requester, reviewer, chain_agent):
    _, server = chain_agent
    task = submit(requester)
    run(task)
    action_request_decide(
        action_request=the_request(task), actor=reviewer, decision="reject", comment="Ask for a photo first."
    )
    assert run(task) is RunOutcome.FINISHED
    task.refresh_from_db()
    result = tool_messages(task)[0]
    assert result["status"] == "error"
    assert result["error_type"] == "permanent"
    assert "Ask for a photo first." in result["message"]
    assert result["data"]["decision"] == "rejected"
    assert server.requests == 0


def test_edited_arguments_run_and_the_model_is_told(requester, reviewer, chain_agent):
    _, server = chain_agent
    task = submit(requester)
    run(task)
    request = the_request(task)
    action_request_decide(action_request=request, actor=reviewer, decision="approve", arguments={"i": 7})
    request.refresh_from_db()
    assert request.version == 2
    assert request.original_arguments == {"i": 1}
    edit = AuditEntry.objects.get(action="request.arguments_edited")
    assert edit.after["diff"] == {"i": {"before": 1, "after": 7}}
    run(task)
    task.refresh_from_db()
    assert server.keys_seen == [f"tollgate-ar-{request.id}-v2"]
    assert "edited the arguments" in tool_messages(task)[0]["message"]


def test_a_critical_call_is_never_run_and_the_agent_gets_a_permanent_error(requester, admin, chain_agent):
    tool, server = chain_agent
    tool_tier_set(actor=admin, tool=tool, tier="critical")
    task = submit(requester)
    assert run(task) is RunOutcome.FINISHED
    task.refresh_from_db()
    assert task.status == "succeeded"
    result = tool_messages(task)[0]
    assert result["error_type"] == "permanent"
    assert result["data"]["decision"] == "person_must_act"
    request = the_request(task)
    assert request.tier == "critical"
    assert request.status == "pending"  # shown to people, who act outside Tollgate
    assert server.requests == 0
    with pytest.raises(Conflict):
        action_request_decide(action_request=request, actor=admin, decision="approve")


def test_a_medium_call_runs_by_itself_when_its_delay_ends(requester, admin, chain_agent):
    tool, server = chain_agent
    tool_tier_set(actor=admin, tool=tool, tier="medium")
    policy_rule_create(actor=admin, tool="refund_tool", tier="medium", delay_s=120)
    task = submit(requester)
    assert run(task) is RunOutcome.PARKED
    request = the_request(task)
    assert request.autosend_at is not None

    assert action_requests_sweep()["approved"] == 0  # not due yet
    with time_machine.travel(clock.now() + timedelta(seconds=121)):
        assert action_requests_sweep()["approved"] == 1
    run(task)
    request.refresh_from_db()
    assert request.status == "executed"
    assert request.decided_by is None
    assert server.side_effects == 1


def test_a_medium_call_cancelled_before_its_deadline_never_runs(requester, reviewer, admin, chain_agent):
    tool, server = chain_agent
    tool_tier_set(actor=admin, tool=tool, tier="medium")
    task = submit(requester)
    run(task)
    action_request_decide(action_request=the_request(task), actor=reviewer, decision="cancel")
    with time_machine.travel(clock.now() + timedelta(hours=1)):
        assert action_requests_sweep()["approved"] == 0
    run(task)
    assert server.requests == 0
    assert the_request(task).status == "cancelled"


def test_the_submitter_may_not_approve_their_own_tasks_action(reviewer, chain_agent):
    task = submit(reviewer)
    run(task)
    with pytest.raises(Forbidden):
        action_request_decide(action_request=the_request(task), actor=reviewer, decision="approve")
    assert the_request(task).status == "pending"


def test_a_quorum_of_two_needs_two_distinct_reviewers(requester, reviewer, admin, chain_agent):
    _, server = chain_agent
    policy_rule_create(actor=admin, tool="refund_tool", tier="high", approvals_required=2)
    task = submit(requester)
    run(task)
    request = the_request(task)
    assert request.approvals_required == 2
    action_request_decide(action_request=request, actor=reviewer, decision="approve")
    action_request_decide(action_request=request, actor=reviewer, decision="approve")  # idempotent
    request.refresh_from_db()
    assert request.status == "pending"
    assert request.votes.count() == 1
    action_request_decide(action_request=request, actor=make_reviewer("second"), decision="approve")
    request.refresh_from_db()
    assert request.status == "approved"
    run(task)
    assert server.side_effects == 1


def test_an_expired_high_request_counts_as_rejected_and_the_agent_is_told(requester, admin, chain_agent):
    _, server = chain_agent
    policy_rule_create(actor=admin, tool="refund_tool", tier="high", expiry_s=60)
    task = submit(requester)
    run(task)
    with time_machine.travel(clock.now() + timedelta(seconds=61)):
        assert action_requests_sweep()["expired"] == 1
    run(task)
    task.refresh_from_db()
    assert the_request(task).status == "expired"
    assert "expired" in tool_messages(task)[0]["message"]
    assert server.requests == 0


def test_a_policy_change_applies_to_the_next_call_and_is_recorded_on_the_request(
    requester, admin, chain_agent
):
    tool, _ = chain_agent
    tool_tier_set(actor=admin, tool=tool, tier="low")
    rule = policy_rule_create(actor=admin, tool="refund_*", condition="args.i >= 1", tier="high")
    task = submit(requester)
    assert run(task) is RunOutcome.PARKED
    request = the_request(task)
    assert request.rule_id == rule.pk
    assert request.policy_version == 2
    assert request.rule_snapshot["condition"] == "args.i >= 1"


def test_a_request_past_its_sla_is_flagged_once(requester, chain_agent, mailoutbox, settings):
    settings.APPROVALS_ESCALATION_EMAILS = ["oncall@example.com"]
    task = submit(requester)
    run(task)
    with time_machine.travel(clock.now() + timedelta(minutes=16)):
        assert action_requests_sweep()["escalated"] == 1
        assert action_requests_sweep()["escalated"] == 0
    assert the_request(task).escalated_at is not None


def test_a_condition_that_divides_by_zero_fails_closed_to_high_and_the_task_parks(
    requester, admin, reviewer_api, chain_agent
):
    """Issue 10, finding 4: the model sends i=1, the rule's condition divides by zero. That used
    to raise into the Celery task (which crashed on every retry) and to let the call fall to the
    tool's lower default tier."""
    tool, server = chain_agent
    tool_tier_set(actor=admin, tool=tool, tier="low")
    rule = policy_rule_create(actor=admin, tool="refund_tool", condition="10/(args.i-1) > 0", tier="low")
    task = submit(requester)

    assert run(task) is RunOutcome.PARKED
    task.refresh_from_db()
    assert task.status == Task.Status.WAITING_APPROVAL
    request = the_request(task)
    assert request.tier == "high"
    assert request.rule_id == rule.pk
    error = f"rule {rule.pk}: ZeroDivisionError: division by zero in CEL expression"
    assert request.rule_snapshot["condition_errors"] == [error]
    [item] = reviewer_api.get("/api/v1/approvals").json()["items"]
    assert item["policy_errors"] == [error]
    assert server.requests == 0


def test_a_step_replayed_after_approval_writes_one_model_span_with_its_prompt_and_cost(
    requester, reviewer, chain_agent
):
    task = submit(requester)
    run(task)
    action_request_decide(action_request=the_request(task), actor=reviewer, decision="approve")
    run(task)

    task.refresh_from_db()
    chats = list(Span.objects.filter(trace__task=task, name__startswith="chat ").order_by("step_index"))
    assert [span.step_index for span in chats] == [0, 1]
    # The held step's first delivery wrote nothing; its replay wrote the span, prompt included.
    assert chats[0].input == [{"role": "system", "content": "Be brief."}, task.messages[0]]
    assert chats[1].input[PROMPT_REF]["span_id"] == chats[0].span_id
    assert prompt_reassemble(chats[1]) == [{"role": "system", "content": "Be brief."}, *task.messages[:3]]
    assert sum(Decimal(span.attributes[COST_ATTRIBUTE]) for span in chats) == task.cost_usd > 0
