"""A held call in the trace: the parked step's spans are kept, the wait for people is a span,
a call people declined is not a tool error, and the resume logs as a resume."""

import logging
from datetime import timedelta

import pytest

from agents.runtime.loop import RunOutcome
from approvals.policy.services import tool_tier_set
from approvals.services import action_request_decide
from core import clock
from tests.approvals.conftest import run, submit, the_request
from tests.tracing import alerting
from tracing.alerts.rules import tool_error_rate
from tracing.models import AlertRule, Span
from tracing.tool_health import tool_health

pytestmark = pytest.mark.django_db(transaction=True)


def spans(task, **filters) -> list[Span]:
    return list(Span.objects.filter(trace__task=task, **filters).order_by("started_at", "id"))


def test_a_parked_steps_spans_are_written_once_and_the_wait_is_a_span(
    requester, reviewer, chain_agent, caplog
):
    task = submit(requester)
    assert run(task) is RunOutcome.PARKED

    # Written at the park: the model call with its prompt, before anyone decides.
    [model] = spans(task, kind=Span.Kind.MODEL)
    assert model.step_index == 0
    assert model.input  # the messages sent
    request = the_request(task)
    action_request_decide(action_request=request, actor=reviewer, decision="approve")
    request.refresh_from_db()

    with caplog.at_level(logging.INFO, logger="agents.runtime.step"):
        assert run(task) is RunOutcome.FINISHED

    assert [span.pk for span in spans(task, kind=Span.Kind.MODEL, step_index=0)] == [model.pk]
    [wait] = spans(task, kind=Span.Kind.WAIT)
    assert (wait.name, wait.step_index) == ("wait approval refund_tool", 0)
    assert (wait.started_at, wait.ended_at) == (request.created_at, request.decided_at)
    assert wait.attributes["tollgate.approval.decision"] == "approved"
    [call] = spans(task, kind=Span.Kind.TOOL, step_index=0)
    assert (call.status, call.attributes["tollgate.tool.status"]) == ("ok", "success")
    assert "resumed after a decision" in caplog.text
    assert "redelivered" not in caplog.text


def test_a_rejected_call_is_not_a_tool_error(requester, reviewer, chain_agent):
    task = submit(requester)
    run(task)
    action_request_decide(action_request=the_request(task), actor=reviewer, decision="reject", comment="no")
    assert run(task) is RunOutcome.FINISHED

    [call] = spans(task, kind=Span.Kind.TOOL)
    assert call.status == Span.Status.OK
    assert call.attributes["tollgate.tool.status"] == "declined"
    assert call.attributes["tollgate.approval.decision"] == "rejected"
    assert "error.type" not in call.attributes
    assert call.output["status"] == "error"  # the model is still told it did not run
    [wait] = spans(task, kind=Span.Kind.WAIT)
    assert wait.attributes["tollgate.approval.decision"] == "rejected"

    # Ten declined calls and one real failure: the error-rate alert and the tool table see one call.
    for _ in range(10):
        alerting.span(
            task,
            kind=Span.Kind.TOOL,
            at=clock.now(),
            **{"gen_ai.tool.name": "refund_tool", "tollgate.tool.status": "declined"},
        )
    alerting.span(
        task, kind=Span.Kind.TOOL, at=clock.now(), error=True, **{"gen_ai.tool.name": "refund_tool"}
    )
    rule = alerting.rule(AlertRule.Kind.TOOL_ERROR_RATE)
    observed = tool_error_rate(rule, clock.now() + timedelta(seconds=1))
    assert "1 of 1 calls failed" in observed["refund_tool"].detail
    [health] = tool_health(now=clock.now() + timedelta(seconds=1))
    assert (health.calls_5m, health.errors_5m) == (1, 1)


def test_a_critical_call_is_declined_not_failed(requester, admin, chain_agent):
    tool, _ = chain_agent
    tool_tier_set(actor=admin, tool=tool, tier="critical")
    task = submit(requester)
    assert run(task) is RunOutcome.FINISHED

    [call] = spans(task, kind=Span.Kind.TOOL)
    assert (call.status, call.attributes["tollgate.approval.decision"]) == ("ok", "person_must_act")
    assert spans(task, kind=Span.Kind.WAIT) == []  # nothing waited: the agent carried on at once
