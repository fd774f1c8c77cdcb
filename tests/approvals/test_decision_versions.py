"""Decisions are bound to the version of the arguments their reviewer saw (issue 10, finding 1).

The attack: a rule needs two approvals; reviewer A approves with edited arguments (version 2,
1 of 2 votes); reviewer B sends a plain approve meaning version 1. B's vote must not count
for arguments B never saw.
"""

import json

import pytest
from django.contrib.auth.models import User
from django.test import Client

from approvals.models import ActionRequest, ActionVote, AuditEntry
from approvals.policy.services import policy_rule_create
from approvals.services import StaleVersion, action_request_decide
from console.tokens import api_token_create
from core.errors import Invalid
from tests.approvals.conftest import make_reviewer, run, submit, the_request

pytestmark = pytest.mark.django_db(transaction=True)

EDITED = {"i": "A-1003", "amount": 249}


@pytest.fixture
def two_person_request(requester, reviewer, admin, chain_agent) -> tuple[ActionRequest, object]:
    """A parked refund_tool call {"i": 1} that needs two approvals."""
    _, server = chain_agent
    policy_rule_create(actor=admin, tool="refund_tool", tier="high", approvals_required=2)
    task = submit(requester)
    run(task)
    request = the_request(task)
    assert (request.version, request.approvals_required) == (1, 2)
    return request, server


def api_client(user: User) -> Client:
    raw, _ = api_token_create(user=user, name="tests")
    return Client(headers={"Authorization": f"Bearer {raw}"})


def console_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def rest_decide(client: Client, request: ActionRequest, body: dict):
    return client.post(f"/api/v1/approvals/{request.id}/decision", body, content_type="application/json")


def console_decide(client: Client, request: ActionRequest, body: dict):
    return client.post(f"/approvals/{request.id}/decide/", json.dumps(body), content_type="application/json")


def assert_stale(response, request: ActionRequest) -> None:
    assert response.status_code == 409, response.content
    error = response.json()["error"]
    assert error["code"] == "stale_version"
    assert error["field"] == "version"
    assert error["current"] == {"version": 2, "arguments": EDITED, "hash": request.request_hash}


@pytest.mark.parametrize(
    ("client_for", "decide"), [(api_client, rest_decide), (console_client, console_decide)]
)
def test_a_plain_approve_after_an_edit_is_refused_and_only_the_edited_version_runs_once(
    two_person_request, reviewer, client_for, decide
):
    request, server = two_person_request
    a, b = client_for(reviewer), client_for(make_reviewer("second"))

    edited = decide(a, request, {"decision": "approve", "arguments": EDITED})
    assert edited.status_code == 200, edited.content
    request.refresh_from_db()
    assert (request.status, request.version, request.arguments) == ("pending", 2, EDITED)
    assert ActionVote.objects.filter(request=request, version=2).count() == 1  # the editor's vote

    # B's body names no version: it meant the original arguments, which are no longer current.
    assert_stale(decide(b, request, {"decision": "approve"}), request)
    assert_stale(decide(b, request, {"decision": "approve", "version": 1}), request)
    request.refresh_from_db()
    assert request.status == "pending"
    assert ActionVote.objects.filter(request=request, version=2).count() == 1
    assert not ActionVote.objects.filter(request=request, reviewer__username="second").exists()
    assert not AuditEntry.objects.filter(action="request.approved").exists()
    run(request.task)  # a worker given the task early finds nothing to run
    assert server.requests == 0

    approved = decide(b, request, {"decision": "approve", "version": 2})
    assert approved.status_code == 200, approved.content
    request.refresh_from_db()
    assert request.status == "approved"
    run(request.task)
    request.refresh_from_db()
    assert request.status == "executed"
    assert server.side_effects == 1
    assert server.keys_seen == [f"tollgate-ar-{request.id}-v2"]
    assert next(iter(server.effects.values()))["amount"] == 249


def test_a_vote_for_version_1_never_counts_toward_version_2(two_person_request, reviewer):
    request, _ = two_person_request
    early, third = make_reviewer("early"), make_reviewer("third")
    action_request_decide(action_request=request, actor=early, decision="approve", version=1)
    action_request_decide(action_request=request, actor=reviewer, decision="approve", arguments=EDITED)
    request.refresh_from_db()
    # Two approvals exist, but for two different versions: no quorum.
    assert ActionVote.objects.filter(request=request).count() == 2
    assert request.status == "pending"
    assert request.votes.filter(version=request.version).count() == 1
    with pytest.raises(StaleVersion):
        action_request_decide(action_request=request, actor=early, decision="approve", version=1)

    action_request_decide(action_request=request, actor=third, decision="approve", version=2)
    request.refresh_from_db()
    assert request.status == "approved"


def test_an_edit_on_top_of_a_stale_version_is_refused(two_person_request, reviewer):
    request, _ = two_person_request
    action_request_decide(action_request=request, actor=reviewer, decision="approve", arguments=EDITED)
    with pytest.raises(StaleVersion):
        action_request_decide(
            action_request=request, actor=make_reviewer("second"), decision="approve", arguments={"i": 5}
        )
    request.refresh_from_db()
    assert (request.version, request.arguments) == (2, EDITED)


@pytest.mark.parametrize("decision", ["reject", "cancel"])
def test_a_reject_or_cancel_of_a_stale_version_changes_nothing(two_person_request, reviewer, decision):
    request, server = two_person_request
    second = make_reviewer("second")
    action_request_decide(action_request=request, actor=reviewer, decision="approve", arguments=EDITED)
    with pytest.raises(StaleVersion):
        action_request_decide(action_request=request, actor=second, decision=decision, comment="no")
    request.refresh_from_db()
    assert request.status == "pending"

    action_request_decide(action_request=request, actor=second, decision=decision, version=2)
    request.refresh_from_db()
    assert request.status == {"reject": "rejected", "cancel": "cancelled"}[decision]
    # The same decision again, with the same version, is a no-op (a retried request).
    action_request_decide(action_request=request, actor=second, decision=decision, version=2)
    run(request.task)
    assert server.requests == 0


@pytest.mark.parametrize("version", ["2", 0, -1, True, 1.0, None, 2**31, [2]])
def test_a_malformed_version_is_a_422_naming_the_field(requester, reviewer, version):
    from tests.approvals.conftest import make_request

    request = make_request(requester)
    for response in (
        rest_decide(api_client(reviewer), request, {"decision": "approve", "version": version}),
        console_decide(console_client(reviewer), request, {"decision": "approve", "version": version}),
    ):
        assert response.status_code == 422, response.content
        assert response.json()["error"]["field"] == "version"
    with pytest.raises(Invalid):
        action_request_decide(action_request=request, actor=reviewer, decision="approve", version=version)
    assert ActionRequest.objects.get().status == "pending"
