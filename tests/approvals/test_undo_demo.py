"""The demo's refund is reversible: support-bot refunds A-1001, a reviewer undoes it."""

import httpx
import pytest

from agents import demo
from agents.models import Agent, Tool
from agents.tools.compensation import compensation_check
from approvals.models import ActionRequest
from approvals.services import action_request_decide
from approvals.undo.actions import session_actions
from approvals.undo.start import undo_start
from tests.approvals.conftest import make_reviewer, run, submit


@pytest.mark.django_db(transaction=True)
def test_the_demo_refund_is_undone_by_reverse_refund(requester, use_simulator, tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "LOGINS_FILE", tmp_path / "demo-logins.json")
    demo.demo_load(simulator_url=use_simulator)
    refund = Tool.objects.select_related("compensation").get(name="issue_refund")
    compensation_check(refund)  # the demo's mapping passes the same checks as an admin's
    assert refund.compensation.name == "reverse_refund"
    version = Agent.objects.get(name="support-bot").current_version
    assert set(version.tools.values_list("name", flat=True)) >= {"issue_refund", "reverse_refund"}

    approver = make_reviewer("approver")
    task = submit(requester, "support-bot", "Order A-1001 arrived broken, please refund it")
    run(task)
    action_request_decide(
        action_request=ActionRequest.objects.get(task=task), actor=approver, decision="approve"
    )
    run(task)
    [action] = session_actions(task.session).actions
    refund_id = action.result["data"]["refund_id"]

    started = undo_start(task.session, by=make_reviewer("starter"))
    run(started.task)  # reverse_refund is medium: it waits in the queue; a reviewer sends it early
    held = ActionRequest.objects.get(task=started.task)
    assert (held.tier, held.arguments) == ("medium", {"refund_id": refund_id})
    action_request_decide(action_request=held, actor=approver, decision="approve")
    run(started.task)
    assert [a.state for a in session_actions(task.session).actions] == ["undone", "compensation"]
    assert refund_id in httpx.get(f"{use_simulator}/tools/stats").json()["reversed"]
