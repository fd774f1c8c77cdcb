"""The gate API's paths (issue 15): allow, auto-send, approve with edit, reject, expire,
critical, duplicate report, retry with the same key; and the trace they leave."""

from datetime import timedelta

import pytest
import time_machine

from agents.models import Task, Tool
from approvals.models import ActionRequest
from approvals.services import action_request_decide, action_request_timeout
from core import clock
from tests.conftest import _api_client
from tests.gate.conftest import ask, poll, report, request_of
from tracing.models import Span

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tiers")]


def test_allow_answers_at_once_with_a_token_and_takes_one_report(requester_api):
    response = ask(requester_api)
    assert response.status_code == 201, response.content
    answer = response.json()
    assert (answer["decision"], answer["tier"], answer["status"]) == ("allow", "low", "allowed")
    assert answer["arguments"] == {"amount": 5}
    assert answer["execution_token"].startswith("tgx_")

    reported = report(requester_api, answer, result={"refund": "r-1"})
    assert reported.status_code == 200, reported.content
    assert reported.json()["status"] == "executed"
    assert reported.json()["execution_token"] is None

    again = report(requester_api, answer)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"


def test_the_call_its_wait_and_its_result_are_in_the_sessions_trace(
    requester_api, reviewer, django_capture_on_commit_callbacks
):
    answer = ask(requester_api, arguments={"amount": 500}).json()
    with django_capture_on_commit_callbacks(execute=True):
        action_request_decide(action_request=request_of(answer), actor=reviewer, decision="approve")
    decided = poll(requester_api, answer["id"]).json()
    report(requester_api, decided, result={"ok": True})
    task = Task.objects.get(session__external_id="conv-1")
    assert task.status == Task.Status.EXTERNAL
    spans = list(Span.objects.filter(trace__task=task).order_by("started_at", "id"))
    names = [(span.kind, span.name) for span in spans]
    assert names == [
        ("guardrail", "gate refund"),
        ("wait", "wait for approval refund"),
        ("tool", "execute_tool refund"),
    ]
    assert all(span.attributes["tollgate.action.id"] == answer["id"] for span in spans)


def test_approve_with_edit_returns_the_edited_arguments_and_the_request_records_the_run(
    requester_api, reviewer
):
    answer = ask(requester_api, arguments={"amount": 500}).json()
    assert answer["decision"] == "pending"
    assert answer["execution_token"] is None
    assert answer["expires_at"] is not None
    action_request_decide(
        action_request=request_of(answer), actor=reviewer, decision="approve", arguments={"amount": 300}
    )
    decided = poll(requester_api, answer["id"]).json()
    assert (decided["decision"], decided["status"], decided["edited"]) == ("allow", "approved", True)
    assert decided["arguments"] == {"amount": 300}
    assert decided["tool_idempotency_key"] == request_of(answer).idempotency_key
    assert report(requester_api, decided, result={"refunded": 300}).status_code == 200
    assert request_of(answer).status == ActionRequest.Status.EXECUTED


def test_reject_denies_with_the_reviewers_feedback_and_refuses_a_report(requester_api, reviewer):
    answer = ask(requester_api, arguments={"amount": 500}).json()
    action_request_decide(
        action_request=request_of(answer), actor=reviewer, decision="reject", comment="too much"
    )
    decided = poll(requester_api, answer["id"]).json()
    assert (decided["decision"], decided["status"]) == ("deny", "rejected")
    assert "too much" in decided["reason"]
    assert decided["execution_token"] is None
    forged = {**decided, "execution_token": "tgx_" + "0" * 48}
    assert report(requester_api, forged).status_code == 403


def test_auto_send_allows_a_medium_call_once_its_delay_ends(requester_api):
    answer = ask(requester_api, tool="email", arguments={"to": "a@example.com"}).json()
    assert (answer["decision"], answer["tier"]) == ("pending", "medium")
    assert answer["autosend_at"]
    with time_machine.travel(clock.now() + timedelta(seconds=121)):
        assert action_request_timeout(request_id=request_of(answer).id) == "approved"
    decided = poll(requester_api, answer["id"]).json()
    assert (decided["decision"], decided["status"]) == ("allow", "approved")
    assert "delay ended" in decided["reason"]


def test_a_high_call_expires_into_a_deny(requester_api):
    answer = ask(requester_api, arguments={"amount": 500}).json()
    with time_machine.travel(clock.now() + timedelta(seconds=601)):
        assert action_request_timeout(request_id=request_of(answer).id) == "expired"
    decided = poll(requester_api, answer["id"]).json()
    assert (decided["decision"], decided["status"]) == ("deny", "expired")
    assert "expired" in decided["reason"]


def test_critical_is_denied_at_once_and_shown_to_reviewers(requester_api):
    answer = ask(requester_api, tool="wipe", arguments={"table": "users"}).json()
    assert (answer["decision"], answer["tier"]) == ("deny", "critical")
    assert "A person must act" in answer["reason"]
    assert request_of(answer).status == ActionRequest.Status.PENDING  # in the queue for a person


def test_two_person_rule_and_no_self_approval_hold_for_external_calls(requester, requester_api, reviewer):
    answer = ask(requester_api, arguments={"amount": 5000}).json()
    from core.errors import Forbidden

    with pytest.raises(Forbidden):
        action_request_decide(action_request=request_of(answer), actor=requester, decision="approve")
    action_request_decide(action_request=request_of(answer), actor=reviewer, decision="approve")
    assert poll(requester_api, answer["id"]).json()["decision"] == "pending"  # 1 of 2


def test_retry_with_the_same_key_returns_the_same_action(requester_api):
    first = ask(requester_api, arguments={"amount": 500}, idempotency_key="k-1")
    second = ask(requester_api, arguments={"amount": 500}, idempotency_key="k-1")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert ActionRequest.objects.count() == 1
    other = ask(requester_api, arguments={"amount": 501}, idempotency_key="k-1")
    assert other.status_code == 409
    assert other.json()["error"]["field"] == "idempotency_key"


def test_unknown_tools_get_the_configured_tier_and_are_listed_for_admins(requester_api, settings):
    answer = ask(requester_api, tool="launch_rocket", arguments={}).json()
    assert (answer["tier"], answer["decision"]) == ("high", "pending")
    tool = Tool.objects.get(name="launch_rocket")
    assert (tool.kind, tool.risk_tier) == ("external", "high")
    settings.GATE_UNKNOWN_TOOL_TIER = "medium"
    assert ask(requester_api, tool="launch_boat", arguments={}).json()["tier"] == "medium"


def test_an_admin_tiers_an_external_tool_in_the_console(requester_api, admin):
    from django.test import Client

    ask(requester_api, tool="launch_rocket", arguments={})
    console = Client()
    console.force_login(admin)
    page = console.get("/approvals/tools/").content.decode()
    assert "launch_rocket" in page
    assert "first named by an external agent" in page
    tool = Tool.objects.get(name="launch_rocket")
    console.post("/approvals/tools/", {"tool": tool.pk, "risk_tier": "low"})
    assert ask(requester_api, tool="launch_rocket", arguments={"x": 1}).json()["decision"] == "allow"


def test_another_users_action_does_not_exist_for_them(requester_api, outsider):
    answer = ask(requester_api).json()
    other = _api_client(outsider)
    assert poll(other, answer["id"]).status_code == 404
    assert report(other, answer).status_code == 404


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"agent": "no spaces allowed"}, "agent"),
        ({"tool": "x" * 65}, "tool"),
        ({"session": ""}, "session"),
        ({"callback_url": "http://127.0.0.1:9/hook"}, "callback_url"),
        ({"callback_url": "ftp://example.com/x"}, "callback_url"),
        ({"context": {"blob": "x" * 20_000}}, "context"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_hostile_asks_are_refused_with_4xx(requester_api, settings, fields, field):
    settings.GATE_CALLBACK_SECRET = "s" * 32
    settings.TOOL_EGRESS_ALLOW = []
    response = ask(requester_api, **fields)
    assert 400 <= response.status_code < 500, response.content
    assert response.json()["error"].get("field") == field


@pytest.mark.parametrize("wait", ["61", "-1", "nan", "abc"])
def test_wait_is_bounded(requester_api, wait):
    answer = ask(requester_api).json()
    response = requester_api.get(f"/api/v1/actions/{answer['id']}?wait={wait}")
    assert response.status_code == 422, response.content
