"""A critical request is closed as done by a person, with a note, audited; nothing else is."""

import pytest

from approvals.models import ActionRequest, AuditEntry
from approvals.services import action_request_decide
from core.errors import Conflict, Invalid
from tests.approvals.conftest import make_request

pytestmark = pytest.mark.django_db


def test_a_critical_request_is_closed_as_done_with_its_note_audited(requester, reviewer):
    request = make_request(requester, tier="critical")

    action_request_decide(
        action_request=request, actor=reviewer, decision="done", comment="Deleted the account by hand."
    )

    request.refresh_from_db()
    assert request.status == ActionRequest.Status.DONE
    assert (request.decided_by, request.decision_comment) == (reviewer, "Deleted the account by hand.")
    entry = AuditEntry.objects.get(action="request.done")
    assert (entry.actor, entry.object_id) == (reviewer, str(request.id))
    assert entry.after["comment"] == "Deleted the account by hand."
    with pytest.raises(Conflict):
        action_request_decide(action_request=request, actor=reviewer, decision="cancel")


def test_done_needs_a_note(requester, reviewer):
    request = make_request(requester, tier="critical")
    with pytest.raises(Invalid) as refused:
        action_request_decide(action_request=request, actor=reviewer, decision="done", comment="  ")
    assert refused.value.field == "comment"
    assert ActionRequest.objects.get(pk=request.pk).status == "pending"


def test_only_a_critical_request_can_be_done_by_a_person(requester, reviewer):
    request = make_request(requester, tier="high")
    with pytest.raises(Conflict):
        action_request_decide(action_request=request, actor=reviewer, decision="done", comment="did it")
    assert ActionRequest.objects.get(pk=request.pk).status == "pending"
    assert not AuditEntry.objects.filter(action="request.done").exists()


def test_done_over_rest_and_on_the_queue_page(requester, reviewer, reviewer_api, client):
    by_rest = make_request(requester, tier="critical")
    response = reviewer_api.post(
        f"/api/v1/approvals/{by_rest.id}/decision",
        {"decision": "done", "comment": "Sent the bulk email from the CRM."},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["status"] == "done"
    assert [item["status"] for item in reviewer_api.get("/api/v1/approvals?status=done").json()["items"]] == [
        "done"
    ]

    client.force_login(reviewer)
    page = client.get("/approvals/").content.decode()
    assert 'id="detail-done"' in page  # the card's button
    on_page = make_request(requester, tier="critical", call_index=1, task=by_rest.task)
    response = client.post(
        f"/approvals/{on_page.id}/decide/",
        {"decision": "done", "comment": "Handled by phone."},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["request"]["status"] == "done"
    refused = client.post(
        f"/approvals/{make_request(requester, tier='critical').id}/decide/",
        {"decision": "done"},
        content_type="application/json",
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "comment"
