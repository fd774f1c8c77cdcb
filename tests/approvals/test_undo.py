"""Undo of executed actions: compensations run once each, newest first, under the risk policy."""

import pytest
from django.contrib.auth.models import User

from agents.models import Session, Task, Tool
from agents.runtime.loop import RunOutcome
from approvals.models import ActionRequest, ActionUndo, AuditEntry
from approvals.services import action_request_decide
from approvals.undo.actions import session_actions
from approvals.undo.start import undo_start
from core.errors import Conflict, Forbidden
from tests.approvals.conftest import make_reviewer, run, submit
from tests.approvals.undo_support import refund_tools
from tests.factories import make_agent
from tests.support.races import race


def session_with_two_refunds(requester: User, url: str, **tiers: str) -> Session:
    tools = refund_tools(url, **tiers)
    make_agent("refunder", model="sim/chain?calls=2&tool=issue_refund", tools=list(tools.values()))
    task = submit(requester, "refunder")
    assert run(task) == RunOutcome.FINISHED
    task.refresh_from_db()
    assert task.status == Task.Status.SUCCEEDED, task.stop_detail
    return task.session


def run_to_end(task: Task, approvers: list[User]) -> list[ActionRequest]:
    """Run the task, approving each held call as it comes (each by a different reviewer than
    its submitter); returns the requests it approved."""
    approved = []
    for _ in range(5):
        outcome = run(task)
        task.refresh_from_db()
        if task.status != Task.Status.WAITING_APPROVAL:
            assert outcome == RunOutcome.FINISHED
            return approved
        request = ActionRequest.objects.get(task=task, status="pending")
        action_request_decide(action_request=request, actor=approvers[0], decision="approve")
        approved.append(request)
    raise AssertionError("the task did not finish")


@pytest.mark.django_db(transaction=True)
def test_undo_all_reverses_both_refunds_once_newest_first_under_the_policy(
    requester, use_simulator, recorder
):
    url, server = recorder
    session = session_with_two_refunds(requester, url)
    assert server.refunds == 2
    listing = session_actions(session)
    assert [(a.tool, a.state, a.reversible) for a in listing.actions] == [
        ("issue_refund", "executed", True)
    ] * 2
    assert listing.irreversible == []

    starter, approver = make_reviewer("starter"), make_reviewer("approver")
    started = undo_start(session, by=starter)
    assert [u.arguments for u in started.undos] == [
        {"refund_id": "re_2", "amount": 2},
        {"refund_id": "re_1", "amount": 1},
    ]

    # reverse_refund is high: the undo task waits for a reviewer before each compensation runs.
    assert run(started.task) == RunOutcome.PARKED
    assert server.reversals() == []
    held = ActionRequest.objects.get(task=started.task)
    assert (held.tool_name, held.arguments, held.tier) == (
        "reverse_refund",
        {"amount": 2, "refund_id": "re_2"},
        "high",
    )
    with pytest.raises(Forbidden):  # whoever asked for the undo may not approve it
        action_request_decide(action_request=held, actor=starter, decision="approve")
    approved = run_to_end(started.task, [approver])
    assert len(approved) == 2
    started.task.refresh_from_db()
    assert started.task.status == Task.Status.SUCCEEDED
    assert started.task.cost_usd == 0  # scripted replies: no model was paid

    assert server.reversals() == ["re_2", "re_1"]  # once each, newest first
    listing = session_actions(session)
    originals = [a for a in listing.actions if a.compensates is None]
    assert [a.state for a in originals] == ["undone", "undone"]
    assert [a.compensates for a in listing.actions if a.compensates] == [originals[1].id, originals[0].id]
    assert listing.irreversible == []  # the compensations are not irreversible actions of their own
    assert AuditEntry.objects.filter(action="session.undo_started", object_id=str(session.pk)).count() == 1

    # A second undo changes nothing, and a redelivered undo task sends nothing again.
    with pytest.raises(Conflict):
        undo_start(session, by=starter)
    with pytest.raises(Conflict):
        undo_start(session, by=starter, action=originals[0].id)
    assert run(started.task) == RunOutcome.SKIPPED
    assert server.reversals() == ["re_2", "re_1"]
    assert Task.objects.filter(session=session).count() == 2


@pytest.mark.django_db(transaction=True)
def test_an_irreversible_action_is_reported_and_never_undone(requester, reviewer, use_simulator, recorder):
    url, server = recorder
    tools = refund_tools(url, reverse_tier="low")
    make_agent("mailer", model="sim/chain?calls=1&tool=send_email", tools=list(tools.values()))
    task = submit(requester, "mailer")
    run_to_end(task, [reviewer])
    listing = session_actions(task.session)
    [email] = listing.actions
    assert (email.tool, email.state, email.reversible) == ("send_email", "executed", False)
    assert email.irreversible_reason == "send_email names no compensating tool"
    assert listing.irreversible == [email]
    with pytest.raises(Conflict, match="irreversible"):
        undo_start(task.session, by=reviewer, action=email.id)
    with pytest.raises(Conflict, match="no executed reversible action"):
        undo_start(task.session, by=reviewer)
    assert server.reversals() == []


@pytest.mark.django_db(transaction=True)
def test_a_failed_compensation_is_shown_with_its_error_and_may_be_retried(
    requester, reviewer, use_simulator, recorder
):
    url, server = recorder
    session = session_with_two_refunds(requester, url, reverse_tier="low")
    server.fail_reversals = True
    newest = session_actions(session).actions[-1]
    started = undo_start(session, by=reviewer, action=newest.id)
    run_to_end(started.task, [])
    [action] = [a for a in session_actions(session).actions if a.id == newest.id]
    assert action.state == "undo_failed"
    assert "refused the reversal" in action.undo.error

    server.fail_reversals = False
    retry = undo_start(session, by=reviewer, action=newest.id)
    run_to_end(retry.task, [])
    [action] = [a for a in session_actions(session).actions if a.id == newest.id]
    assert action.state == "undone"
    assert server.reversals() == ["re_2", "re_2"]  # one refused, then one applied
    assert ActionUndo.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_undos_racing_start_one_task(requester, use_simulator, recorder):
    url, _server = recorder
    session = session_with_two_refunds(requester, url)
    first, second = make_reviewer("first"), make_reviewer("second")
    results = race(lambda: undo_start(session, by=first), lambda: undo_start(session, by=second))
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "UndoStarted"]
    assert ActionUndo.objects.count() == 2
    assert Task.objects.filter(session=session).count() == 2  # the loser's task was rolled back
    assert len({u.undo_task_id for u in ActionUndo.objects.all()}) == 1


@pytest.mark.django_db(transaction=True)
def test_only_reviewers_and_admins_undo(
    requester, requester_api, reviewer_api, admin_api, use_simulator, recorder
):
    url, server = recorder
    session = session_with_two_refunds(requester, url, reverse_tier="low")
    with pytest.raises(Forbidden):
        undo_start(session, by=requester)
    # The session's owner may neither read its executed actions nor undo them.
    assert requester_api.get(f"/api/v1/sessions/{session.pk}/actions").status_code == 403
    listed = reviewer_api.get(f"/api/v1/sessions/{session.pk}/actions")
    assert listed.status_code == 200
    assert [item["state"] for item in listed.json()["items"]] == ["executed", "executed"]
    refused = requester_api.post(f"/api/v1/sessions/{session.pk}/undo", {}, content_type="application/json")
    assert refused.status_code == 403
    action = listed.json()["items"][0]["id"]
    for bad in ({"action": "nonsense"}, {"action": 3}, {"extra": 1}):
        response = reviewer_api.post(
            f"/api/v1/sessions/{session.pk}/undo", bad, content_type="application/json"
        )
        assert response.status_code == 422, bad
    started = reviewer_api.post(
        f"/api/v1/sessions/{session.pk}/undo", {"action": action}, content_type="application/json"
    )
    assert started.status_code == 202, started.content
    assert started.json()["actions"] == [action]
    again = admin_api.post(
        f"/api/v1/sessions/{session.pk}/undo", {"action": action}, content_type="application/json"
    )
    assert again.status_code == 409
    assert server.reversals() == []  # nothing ran yet: the undo task is queued


@pytest.mark.django_db(transaction=True)
def test_the_session_page_shows_reviewers_the_panel_and_the_irreversible_actions(
    requester, reviewer, use_simulator, recorder, client
):
    url, _server = recorder
    tools = refund_tools(url, email_tier="low")
    make_agent("mailer", model="sim/chain?calls=1&tool=send_email", tools=list(tools.values()))
    # A low call to a tool without a compensation is a read, not an action: make it medium.
    Tool.objects.filter(name="send_email").update(risk_tier="medium")
    task = submit(requester, "mailer")
    run(task)
    request = ActionRequest.objects.get(task=task)
    action_request_decide(action_request=request, actor=reviewer, decision="approve")
    run(task)
    page = f"/sessions/{task.session_id}/"
    client.force_login(requester)
    body = client.get(page).content.decode()
    assert 'id="executed-actions"' not in body
    assert client.post(f"{page}undo/", {"confirm": "on"}).status_code == 403
    client.force_login(reviewer)
    body = client.get(page).content.decode()
    assert 'id="executed-actions"' in body
    assert "1 executed action that cannot be undone" in body
    assert "send_email names no compensating tool" in body
    assert 'id="undo-all"' not in body  # nothing reversible to undo
