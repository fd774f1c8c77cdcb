"""The queue's decide endpoint parses its body like the REST API: every hostile body is a 4xx.

Each of these answered 500 before (PostgreSQL refused the edited arguments, or json.loads
recursed too deep), after the reviewer had been allowed to decide.
"""

import json

import pytest
from django.test import Client

from approvals.models import ActionRequest, AuditEntry
from tests.approvals.conftest import make_request

pytestmark = pytest.mark.django_db

DEEP = '{"decision": "approve", "arguments": ' + '{"a": ' * 70 + "1" + "}" * 70 + "}"

HOSTILE_BODIES = {
    "deep": (DEEP, "too_deep"),
    "nul-in-value": ('{"decision": "approve", "arguments": {"i": "a\\u0000b"}}', "invalid_string"),
    "nul-in-key": ('{"decision": "approve", "arguments": {"i\\u0000": 1}}', "invalid_string"),
    "lone-surrogate": ('{"decision": "approve", "arguments": {"i": "\\ud800"}}', "invalid_string"),
    "nul-in-comment": ('{"decision": "reject", "comment": "no\\u0000"}', "invalid_string"),
    "nan": ('{"decision": "approve", "arguments": {"i": NaN}}', "malformed_json"),
    "infinity": ('{"decision": "approve", "arguments": {"i": Infinity}}', "malformed_json"),
    "minus-infinity": ('{"decision": "approve", "arguments": {"i": -Infinity}}', "malformed_json"),
    "overflowing-float": ('{"decision": "approve", "arguments": {"i": 1e999}}', "malformed_json"),
    "huge-int": ('{"decision": "approve", "arguments": {"i": ' + "9" * 5000 + "}}", "malformed_json"),
    "not-json": ("{decision: approve}", "malformed_json"),
    "invalid-utf8": (b'{"decision": "approve", "comment": "\xff"}', "malformed_json"),
    "not-an-object": ('["approve"]', "invalid"),
}


def reviewer_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(client: Client, request: ActionRequest, body, content_type="application/json"):
    return client.post(f"/approvals/{request.id}/decide/", body, content_type=content_type)


def assert_unchanged(request: ActionRequest) -> None:
    fresh = ActionRequest.objects.get(pk=request.pk)
    assert fresh.status == "pending"
    assert fresh.arguments == {"i": 1}
    assert not AuditEntry.objects.filter(action__startswith="request.").exists()


@pytest.mark.parametrize(("body", "code"), HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
def test_a_hostile_body_is_refused_with_a_json_error(requester, reviewer, body, code):
    request = make_request(requester)
    response = post(reviewer_client(reviewer), request, body)
    assert 400 <= response.status_code < 500, response.content[:300]
    assert response.json()["error"]["code"] == code
    assert_unchanged(request)


def test_the_field_holding_an_unstorable_string_is_named(requester, reviewer):
    request = make_request(requester)
    body = '{"decision": "approve", "arguments": {"i": "\\u0000"}}'
    error = post(reviewer_client(reviewer), request, body).json()["error"]
    assert error["field"] == "arguments.i"


@pytest.mark.parametrize("arguments", [[1], "i=1", 7, True], ids=["list", "string", "number", "bool"])
def test_arguments_that_are_not_an_object_are_refused(requester, reviewer, arguments):
    request = make_request(requester)
    body = json.dumps({"decision": "approve", "arguments": arguments})
    response = post(reviewer_client(reviewer), request, body)
    assert response.status_code == 422, response.content[:300]
    assert response.json()["error"]["field"] == "arguments"
    assert_unchanged(request)


def test_a_body_that_is_not_json_is_unsupported(requester, reviewer):
    request = make_request(requester)
    form = "application/x-www-form-urlencoded"
    response = post(reviewer_client(reviewer), request, "decision=approve", form)
    assert response.status_code == 415
    assert_unchanged(request)


def test_a_body_over_the_size_limit_is_too_large(requester, reviewer, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    request = make_request(requester)
    body = json.dumps({"decision": "approve", "arguments": {"i": "x" * 20_000}})
    response = post(reviewer_client(reviewer), request, body)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert_unchanged(request)


def test_a_deep_but_allowed_body_still_decides(requester, reviewer):
    """The control: the same endpoint accepts a well-formed decision."""
    request = make_request(requester)
    response = post(reviewer_client(reviewer), request, json.dumps({"decision": "reject", "comment": "no"}))
    assert response.status_code == 200, response.content[:300]
    assert ActionRequest.objects.get(pk=request.pk).status == "rejected"
