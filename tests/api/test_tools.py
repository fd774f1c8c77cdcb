"""POST /api/v1/tools: an admin registers an HTTP tool."""

import pytest

from agents.models import Tool

URL = "/api/v1/tools"


def tool_body(**overrides):
    body = {
        "name": "lookup_order",
        "description": "Look up an order by id",
        "parameters": {
            "type": "object",
            "properties": {"order_id": {"type": "string"}},
            "required": ["order_id"],
        },
        "url": "https://shop.example/orders/lookup",
        "method": "POST",
        "timeout_s": 5,
        "risk_tier": "low",
    }
    return body | overrides


def test_admin_registers_an_http_tool(admin_api):
    response = admin_api.post(URL, tool_body(), content_type="application/json")

    assert response.status_code == 201, response.content
    assert response.json()["name"] == "lookup_order"
    tool = Tool.objects.get(name="lookup_order")
    assert tool.kind == Tool.Kind.HTTP
    assert tool.url == "https://shop.example/orders/lookup"
    assert tool.timeout_s == 5
    assert tool.parameters["required"] == ["order_id"]


def test_a_tool_ignores_idempotency_keys_unless_its_admin_says_it_honours_them(admin_api):
    plain = admin_api.post(URL, tool_body(), content_type="application/json")
    honouring = admin_api.post(
        URL, tool_body(name="refund", honours_idempotency_key=True), content_type="application/json"
    )
    refused = admin_api.post(
        URL, tool_body(name="other", honours_idempotency_key="yes please"), content_type="application/json"
    )

    assert plain.json()["honours_idempotency_key"] is False
    assert honouring.json()["honours_idempotency_key"] is True
    assert Tool.objects.get(name="refund").honours_idempotency_key is True
    assert refused.status_code == 422


def test_a_duplicate_name_is_a_conflict(admin_api):
    admin_api.post(URL, tool_body(), content_type="application/json")

    response = admin_api.post(URL, tool_body(description="again"), content_type="application/json")

    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "conflict",
        "message": "a tool named 'lookup_order' already exists",
        "field": "name",
    }
    assert Tool.objects.get().description == "Look up an order by id"


@pytest.mark.parametrize("client_name", ["requester_api", "reviewer_api", "outsider_api"])
def test_only_an_admin_may_register_tools(request, client_name):
    response = request.getfixturevalue(client_name).post(URL, tool_body(), content_type="application/json")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert not Tool.objects.exists()


def test_anonymous_and_bad_tokens_are_unauthorized(client, admin):
    anonymous = client.post(URL, tool_body(), content_type="application/json")
    bad_token = client.post(
        URL, tool_body(), content_type="application/json", headers={"Authorization": "Bearer tg_nope"}
    )

    for response in (anonymous, bad_token):
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Bearer"
        assert response.json()["error"]["code"] == "unauthorized"
    assert not Tool.objects.exists()


@pytest.mark.parametrize(
    ("parameters", "problem"),
    [
        ({"type": "object", "properties": {"n": {"type": "integr"}}}, "is not valid"),
        ({"type": "string"}, '"type": "object"'),
        (
            {"type": "object", "properties": {"a": {"$ref": "https://evil.example/s.json"}}},
            "must point inside",
        ),
    ],
)
def test_parameters_must_be_a_usable_json_schema(admin_api, parameters, problem):
    response = admin_api.post(URL, tool_body(parameters=parameters), content_type="application/json")

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == "parameters"
    assert problem in error["message"]
    assert not Tool.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"url": "ftp://files.example/x"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"name": "has space"}, "name"),
        ({"name": "x" * 65}, "name"),
        ({"timeout_s": 0}, "timeout_s"),
        ({"timeout_s": 10**6}, "timeout_s"),
        ({"risk_tier": "extreme"}, "risk_tier"),
        ({"method": "TRACE"}, "method"),
    ],
)
def test_bad_fields_are_rejected_with_their_name(admin_api, overrides, field):
    response = admin_api.post(URL, tool_body(**overrides), content_type="application/json")

    assert response.status_code == 422, response.content
    assert response.json()["error"]["field"] == field
    assert not Tool.objects.exists()


def test_the_risk_tier_must_be_given(admin_api):
    body = tool_body()
    del body["risk_tier"]

    response = admin_api.post(URL, body, content_type="application/json")

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "risk_tier"


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:6379/",
        "http://[fd00:ec2::254]/",
        "https://10.0.0.5/tool",
        "http://[::ffff:127.0.0.1]:9000/",
    ],
)
def test_a_literal_internal_address_is_refused_naming_the_allow_list(admin_api, settings, url):
    settings.TOOL_EGRESS_ALLOW = []

    response = admin_api.post(URL, tool_body(url=url), content_type="application/json")

    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["field"] == "url"
    assert "not allowed" in error["message"]
    assert "TOOL_EGRESS_ALLOW" in error["message"]
    assert not Tool.objects.exists()


def test_an_allowed_internal_address_or_a_host_name_may_be_registered(admin_api, settings):
    # A name is judged where it resolves at each call (tests/agents/test_tool_egress.py).
    settings.TOOL_EGRESS_ALLOW = ["10.20.0.0/16"]

    for name, url in [("internal", "https://10.20.0.5/tool"), ("by_name", "http://localhost:8000/tool")]:
        response = admin_api.post(URL, tool_body(name=name, url=url), content_type="application/json")
        assert response.status_code == 201, response.content
