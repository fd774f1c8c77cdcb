"""Recording the outcome of a call whose answer was lost: who may, what is accepted, and two
people recording at once."""

import pytest

from agents.models import Task
from approvals.models import ActionRequest, AuditEntry
from approvals.outcomes import MAX_RESULT_CHARS, action_request_outcome_record
from core.errors import Conflict
from tests.approvals.conftest import make_request, make_reviewer
from tests.support.races import race

SENT = {"method": "POST", "url": "http://127.0.0.1:9/refund", "arguments": {"i": 1}, "idempotency_key": "k"}


def unknown(owner) -> ActionRequest:
    return make_request(owner, status=ActionRequest.Status.OUTCOME_UNKNOWN, sent_request=SENT)


def post(client, request_id, body):
    return client.post(f"/api/v1/approvals/{request_id}/outcome", body, content_type="application/json")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        {},
        {"done": "yes"},
        {"done": 1},
        {"done": True, "note": "x" * 4001},
        {"done": True, "surprise": 1},
        {"done": False, "result": {"refund_id": "r1"}},
        {"done": True, "result": "x" * (MAX_RESULT_CHARS + 1)},
    ],
)
def test_a_hostile_or_malformed_record_is_refused_without_a_500(requester, reviewer_api, body):
    request = unknown(requester)
    response = post(reviewer_api, request.id, body)
    assert 400 <= response.status_code < 500, response.content
    assert ActionRequest.objects.get(pk=request.pk).status == ActionRequest.Status.OUTCOME_UNKNOWN


@pytest.mark.django_db
def test_only_reviewers_record_and_only_an_unknown_outcome(requester, requester_api, reviewer_api):
    request = unknown(requester)
    assert post(requester_api, request.id, {"done": True}).status_code == 404  # not shown to them
    pending = make_request(requester, step_index=1)
    assert post(reviewer_api, pending.id, {"done": True}).status_code == 409
    assert ActionRequest.objects.get(pk=pending.pk).status == ActionRequest.Status.PENDING


@pytest.mark.django_db
def test_a_record_resumes_the_task_and_is_audited(requester, reviewer_api):
    request = unknown(requester)
    response = post(reviewer_api, request.id, {"done": False, "note": "no refund at the shop"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["outcome_by"], body["outcome_note"]) == (
        "not_done",
        "reviewer",
        "no refund at the shop",
    )
    assert body["sent_request"] == SENT
    assert Task.objects.get(pk=request.task_id).status == Task.Status.QUEUED
    entry = AuditEntry.objects.get(action="request.outcome_recorded")
    assert entry.after["status"] == "not_done"
    assert entry.before["sent"] == SENT
    # The same record again (a double click) changes nothing and is not audited twice.
    assert post(reviewer_api, request.id, {"done": False}).status_code == 200
    assert AuditEntry.objects.filter(action="request.outcome_recorded").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_people_recording_at_once_record_once(requester):
    request = unknown(requester)
    first, second = make_reviewer("first"), make_reviewer("second")
    results = race(
        lambda: action_request_outcome_record(
            action_request=request, actor=first, done=True, result={"r": 1}
        ),
        lambda: action_request_outcome_record(action_request=request, actor=second, done=False),
    )
    assert sorted(type(result).__name__ for result in results) == ["ActionRequest", "Conflict"]
    assert any(isinstance(result, Conflict) for result in results)
    assert AuditEntry.objects.filter(action="request.outcome_recorded").count() == 1
    final = ActionRequest.objects.get(pk=request.pk)
    assert final.status in (ActionRequest.Status.EXECUTED, ActionRequest.Status.NOT_DONE)
