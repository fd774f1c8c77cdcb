"""Hostile and malformed input against every endpoint: always a 4xx in the JSON error shape.

DESIGN.md: "no input, however malformed, produces a 5xx". Each case also checks that the
request changed nothing.
"""

import json

import pytest

from agents.models import AgentVersion, Task, Tool
from agents.services.catalog import agent_create

MB_STRING = "x" * 1_000_000


@pytest.fixture
def world(admin, admin_api):
    """An agent and an admin's task, so that every path names something that exists."""
    Tool.objects.create(name="lookup_order", url="https://shop.example/lookup", risk_tier="low")
    agent_create(actor=admin, name="support-bot", model="sim/refund", tools=["lookup_order"])
    response = admin_api.post(
        "/api/v1/tasks", {"agent": "support-bot", "input": "hi"}, content_type="application/json"
    )
    return Task.objects.get(pk=response.json()["id"])


def body_endpoints(task):
    """(method, path, a valid body) for every endpoint that takes a body."""
    return [
        (
            "post",
            "/api/v1/tools",
            {
                "name": "issue_refund",
                "description": "Refund an order",
                "parameters": {"type": "object", "properties": {"amount": {"type": "number"}}},
                "url": "https://shop.example/refund",
                "method": "POST",
                "timeout_s": 5,
                "risk_tier": "high",
            },
        ),
        (
            "post",
            "/api/v1/agents",
            {
                "name": "researcher",
                "system_prompt": "Research.",
                "model": "sim/research",
                "fallback_model": "sim/research",
                "tools": ["lookup_order"],
                "budgets": {
                    "max_tokens": 1000,
                    "max_cost_usd": "1.5",
                    "max_tool_calls": 3,
                    "max_iterations": 3,
                    "max_seconds": 60,
                },
            },
        ),
        ("patch", "/api/v1/agents/support-bot", {"system_prompt": "Be brief.", "budgets": {"max_tokens": 9}}),
        (
            "post",
            "/api/v1/agents/support-bot/versions",
            {"system_prompt": "Be brief.", "budgets": {"max_tokens": 9}},
        ),
        (
            "post",
            "/api/v1/tasks",
            {
                "agent": "support-bot",
                "input": "Where is my order?",
                "session": str(task.session_id),
                "user": "customer-1",
                "idempotency_key": "k-1",
            },
        ),
    ]


def state():
    return (Tool.objects.count(), AgentVersion.objects.count(), Task.objects.count())


def assert_client_error(response, allowed=range(400, 500)):
    assert response.status_code in allowed, (response.status_code, response.content[:300])
    error = response.json()["error"]
    assert isinstance(error["code"], str)
    assert isinstance(error["message"], str)
    assert set(error) <= {"code", "message", "field"}


def send(client, method, path, raw: bytes | str, content_type="application/json"):
    return getattr(client, method)(path, data=raw, content_type=content_type)


def test_every_valid_body_is_accepted(admin_api, world):
    """The control: the hostile cases below fail because of what they change, not their setup."""
    for method, path, body in body_endpoints(world):
        response = send(admin_api, method, path, json.dumps(body))
        assert response.status_code in (200, 201, 202), (path, response.content)


WHOLE_BODIES = [
    (b"", "application/json"),
    (b"{", "application/json"),
    (b"{'name': 'single quotes'}", "application/json"),
    (b"null", "application/json"),
    (b"[]", "application/json"),
    (b'[{"name": "a"}]', "application/json"),
    (b'"a string"', "application/json"),
    (b"42", "application/json"),
    (b"true", "application/json"),
    (b'{"name": "\xff\xfe"}', "application/json"),
    (b'{"name": NaN}', "application/json"),
    (b'{"name": Infinity}', "application/json"),
    (b'{"timeout_s": 1e999}', "application/json"),
    (b'{"name": ' + b"9" * 5000 + b"}", "application/json"),
    (b"[" * 100_000 + b"]" * 100_000, "application/json"),
    (b'{"a":' * 70 + b"1" + b"}" * 70, "application/json"),
    (b'{"name": "\\u0000"}', "application/json"),
    (b'{"name": "\\ud800"}', "application/json"),
    (b'{"\\u0000": 1}', "application/json"),
    (b'{"name": "a"}', "text/plain"),
    (b"name=a&input=b", "application/x-www-form-urlencoded"),
    (b'{"name": "a"}', "application/jsonx"),
    (b"<xml/>", "application/xml"),
]


@pytest.mark.parametrize(("raw", "content_type"), WHOLE_BODIES, ids=lambda v: repr(v)[:40])
def test_malformed_bodies_are_client_errors(admin_api, world, raw, content_type):
    before = state()
    for method, path, _body in body_endpoints(world):
        assert_client_error(send(admin_api, method, path, raw, content_type))
    assert state() == before


def test_error_codes_say_what_was_wrong(admin_api, world):
    def error(raw, content_type="application/json"):
        return send(admin_api, "post", "/api/v1/tasks", raw, content_type).json()["error"]

    assert error(b"{")["code"] == "malformed_json"
    assert error(b'{"input": "a\\u0000b"}') == {
        "code": "invalid_string",
        "message": "strings must not contain NUL or unpaired surrogates",
        "field": "input",
    }
    assert error(b'{"a": 1}', "text/plain")["code"] == "unsupported_media_type"
    assert error(b"[]") == {"code": "invalid", "message": "the body must be a JSON object"}
    assert error(b"")["message"] == "the body must be a JSON object"
    assert error(b'{"a":' * 70 + b"1" + b"}" * 70)["code"] == "too_deep"
    assert error(b'{"input": NaN}')["code"] == "malformed_json"
    assert error(b'{"agent": "support-bot", "input": "x", "extra": 1}')["field"] == "extra"


# Values no field of any endpoint accepts.
ALWAYS_INVALID = ["a\x00b", "\ud800", MB_STRING, -1, 10**30]
# Values some fields accept; whatever the answer, it must not be a 5xx.
MAYBE_VALID = [None, True, 0, 1.5, "", [], {}, ["a\x00"], {"\x00": 1}, [MB_STRING], {"type": MB_STRING}]


def field_paths(body, prefix=()):
    for key, value in body.items():
        yield (*prefix, key)
        if isinstance(value, dict) and key == "budgets":
            yield from field_paths(value, (*prefix, key))


def replaced(body, path, value):
    body = json.loads(json.dumps(body))
    node = body
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return body


def test_every_field_rejects_hostile_values(admin_api, world):
    before = state()
    for method, path, body in body_endpoints(world):
        for field in field_paths(body):
            for value in ALWAYS_INVALID:
                response = send(admin_api, method, path, json.dumps(replaced(body, field, value)))
                assert_client_error(response)
                assert response.status_code in (400, 422), (path, field, repr(value)[:40])
    assert state() == before


def test_every_field_survives_odd_values(admin_api, world):
    for method, path, body in body_endpoints(world):
        for field in field_paths(body):
            for value in MAYBE_VALID:
                response = send(admin_api, method, path, json.dumps(replaced(body, field, value)))
                assert response.status_code < 500, (path, field, repr(value)[:40], response.content[:300])
                if response.status_code >= 400:
                    assert_client_error(response)


def test_unknown_fields_are_rejected_everywhere(admin_api, world):
    before = state()
    for method, path, body in body_endpoints(world):
        response = send(admin_api, method, path, json.dumps(body | {"is_staff": True}))
        assert_client_error(response, allowed=[422])
        assert response.json()["error"]["field"] == "is_staff"
    assert state() == before


def test_a_body_over_the_size_limit_is_too_large(admin_api, world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000
    for method, path, body in body_endpoints(world):
        big = replaced(body, ("name",) if "name" in body else ("system_prompt",), "x" * 200_000)
        assert_client_error(send(admin_api, method, path, json.dumps(big)), allowed=[413])


def read_endpoints(task):
    return [
        ("get", "/api/v1/agents/support-bot"),
        ("get", f"/api/v1/tasks/{task.id}"),
        ("post", f"/api/v1/tasks/{task.id}/cancel"),
        ("get", f"/api/v1/tasks/{task.id}/trace"),
    ]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer tg_not-a-token"},
        {"Authorization": "Bearer " + "x" * 100_000},
        {"Authorization": "Bearer tg_\x00"},
        {"Authorization": "Bearer tg_\u00e9\u00e8"},
        {"Authorization": "Basic YWRtaW46YWRtaW4tcGFzcw=="},
        {"Authorization": "Token abc"},
    ],
    ids=["none", "no-token", "empty", "unknown", "huge", "nul", "latin1", "basic", "other-scheme"],
)
def test_every_endpoint_refuses_missing_or_bad_tokens(client, world, headers):
    before = state()
    for method, path, body in body_endpoints(world):
        response = getattr(client, method)(path, body, content_type="application/json", headers=headers)
        assert_client_error(response, allowed=[401])
    for method, path in read_endpoints(world):
        assert_client_error(getattr(client, method)(path, headers=headers), allowed=[401])
    assert state() == before


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/agents/%00",
        "/api/v1/agents/" + "a" * 10_000,
        "/api/v1/agents/%F0%9F%92%A9",
        "/api/v1/tasks/%00",
        "/api/v1/tasks/" + "9" * 5000,
        "/api/v1/tasks/%00/cancel",
        "/api/v1/tasks/00000000-0000-0000-0000-000000000000/trace?limit=%00",
        "/api/v1/tasks/00000000-0000-0000-0000-000000000000/trace?limit=" + "9" * 5000,
        "/api/v1/tasks/00000000-0000-0000-0000-000000000000/trace?limit=-1",
        "/api/v1/tasks/00000000-0000-0000-0000-000000000000/trace?after=%00",
        "/api/v1/tasks/00000000-0000-0000-0000-000000000000/trace?%00=1",
    ],
)
def test_hostile_paths_and_query_strings_are_client_errors(admin_api, world, path):
    method = "post" if path.endswith("/cancel") else "get"
    assert_client_error(getattr(admin_api, method)(path))


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/api/v1/", 404),
        ("get", "/api/v1/nope", 404),
        ("post", "/api/v1/nope", 404),
        ("get", "/api/v1/tasks/", 404),
        ("put", "/api/v1/tools", 405),
        ("delete", "/api/v1/tasks", 405),
        ("put", "/api/v1/agents/support-bot", 405),
        ("get", "/api/v1/tasks/00000000-0000-0000-0000-000000000000/cancel", 405),
    ],
)
def test_unknown_routes_and_methods_answer_in_the_error_shape(admin_api, world, method, path, status):
    response = getattr(admin_api, method)(path)

    assert_client_error(response, allowed=[status])
    assert response["Content-Type"].startswith("application/json")
    if status == 405:
        assert response["Allow"]


def test_the_openapi_document_lists_every_route_of_the_contract(client):
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {
        ("post", "/api/v1/tools"),
        ("post", "/api/v1/agents"),
        ("patch", "/api/v1/agents/{name}"),
        ("post", "/api/v1/tasks"),
        ("get", "/api/v1/tasks/{task_id}"),
        ("post", "/api/v1/tasks/{task_id}/cancel"),
        ("get", "/api/v1/tasks/{task_id}/trace"),
    } <= {(method, path) for path, operations in paths.items() for method in operations}
    assert client.get("/api/v1/docs").status_code == 200
