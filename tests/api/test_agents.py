"""POST /api/v1/agents, PATCH and GET /api/v1/agents/{name}: versioned agents."""

from decimal import Decimal

import pytest
from django.test import Client

from agents.models import Agent, AgentVersion, Session, Tool
from tests.api import run_concurrently

URL = "/api/v1/agents"


@pytest.fixture
def tools(db):
    for name in ("lookup_order", "issue_refund"):
        Tool.objects.create(name=name, url=f"https://shop.example/{name}", risk_tier="low")


def agent_body(**overrides):
    body = {
        "name": "support-bot",
        "system_prompt": "You are a customer-support agent.",
        "model": "sim/refund",
        "fallback_model": "sim/echo",
        "tools": ["lookup_order"],
        "budgets": {
            "max_tokens": 50_000,
            "max_cost_usd": "0.75",
            "max_tool_calls": 10,
            "max_iterations": 8,
            "max_seconds": 120,
        },
    }
    return body | overrides


def create_agent(client: Client, **overrides):
    return client.post(URL, agent_body(**overrides), content_type="application/json")


def patch_agent(client: Client, name: str, body):
    return client.patch(f"{URL}/{name}", body, content_type="application/json")


def test_admin_creates_an_agent_at_version_1(admin_api, admin, tools):
    response = create_agent(admin_api)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["version"] == 1
    assert body["tools"] == ["lookup_order"]
    assert body["budgets"] == {
        "max_tokens": 50_000,
        "max_cost_usd": "0.750000",
        "max_tool_calls": 10,
        "max_iterations": 8,
        "max_seconds": 120,
    }
    agent = Agent.objects.get(name="support-bot")
    version = agent.current_version
    assert version.number == 1
    assert version.created_by == admin
    assert version.max_cost_usd == Decimal("0.75")
    assert version.fallback_model == "sim/echo"


def test_omitted_budgets_take_the_defaults(admin_api, tools):
    response = create_agent(admin_api, budgets={"max_tokens": 1000})

    assert response.status_code == 201, response.content
    version = Agent.objects.get().current_version
    assert version.max_tokens == 1000
    assert version.max_iterations == AgentVersion._meta.get_field("max_iterations").default
    assert response.json()["budgets"]["max_cost_usd"] == "5.000000"


def test_a_duplicate_agent_name_is_a_conflict(admin_api, tools):
    create_agent(admin_api)

    response = create_agent(admin_api, model="sim/chain")

    assert response.status_code == 409
    assert response.json()["error"]["field"] == "name"
    assert AgentVersion.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"tools": ["lookup_order", "no_such_tool"]}, "tools"),
        ({"model": ""}, "model"),
        ({"model": "   "}, "model"),
        ({"model": "gpt-4o"}, "model"),
        ({"fallback_model": "madeup/x"}, "fallback_model"),
        ({"budgets": {"max_tokens": -1}}, "budgets.max_tokens"),
        ({"budgets": {"max_cost_usd": "-0.01"}}, "budgets.max_cost_usd"),
        ({"budgets": {"max_cost_usd": "1e400"}}, "budgets.max_cost_usd"),
        ({"budgets": {"max_cost_usd": "NaN"}}, "budgets.max_cost_usd"),
        ({"budgets": {"max_iterations": 2**31}}, "budgets.max_iterations"),
        ({"budgets": {"max_seconds": None}}, "budgets.max_seconds"),
        ({"budgets": {"max_tool_calls": 5, "max_retries": 3}}, "budgets.max_retries"),
        ({"name": "Support Bot!"}, "name"),
        ({"name": "x" * 101}, "name"),
    ],
)
def test_invalid_agents_are_rejected_naming_the_field(admin_api, tools, overrides, field):
    response = create_agent(admin_api, **overrides)

    assert response.status_code == 422, response.content
    assert response.json()["error"]["field"] == field
    assert not Agent.objects.exists()


@pytest.mark.parametrize("client_name", ["requester_api", "reviewer_api", "outsider_api"])
def test_only_an_admin_may_create_or_edit_agents(request, admin_api, tools, client_name):
    create_agent(admin_api)
    client = request.getfixturevalue(client_name)

    created = create_agent(client, name="other-bot")
    edited = patch_agent(client, "support-bot", {"model": "sim/chain"})

    assert (created.status_code, edited.status_code) == (403, 403)
    assert list(Agent.objects.values_list("name", flat=True)) == ["support-bot"]
    assert AgentVersion.objects.count() == 1


def test_anonymous_requests_are_unauthorized(client, admin_api, tools):
    create_agent(admin_api)

    assert client.post(URL, agent_body(name="x"), content_type="application/json").status_code == 401
    assert patch_agent(client, "support-bot", {"model": "sim/x"}).status_code == 401
    assert client.get(f"{URL}/support-bot").status_code == 401


def test_an_edit_creates_a_new_version_and_running_sessions_keep_theirs(admin_api, requester, tools):
    create_agent(admin_api)
    agent = Agent.objects.get()
    session = Session.objects.create(agent=agent, agent_version=agent.current_version, owner=requester)

    response = patch_agent(
        admin_api,
        "support-bot",
        {"model": "sim/research", "tools": ["issue_refund"], "budgets": {"max_tokens": 7}},
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["version"] == 2
    assert body["model"] == "sim/research"
    assert body["tools"] == ["issue_refund"]
    # Fields the edit left out are copied from version 1.
    assert body["system_prompt"] == "You are a customer-support agent."
    assert body["budgets"]["max_tool_calls"] == 10
    assert body["budgets"]["max_tokens"] == 7
    agent.refresh_from_db()
    assert agent.current_version.number == 2
    v1 = AgentVersion.objects.get(agent=agent, number=1)
    assert v1.model == "sim/refund"
    assert list(v1.tools.values_list("name", flat=True)) == ["lookup_order"]
    session.refresh_from_db()
    assert session.agent_version == v1


def test_an_edit_without_tools_keeps_the_tools(admin_api, tools):
    create_agent(admin_api, tools=["lookup_order", "issue_refund"])

    response = patch_agent(admin_api, "support-bot", {"system_prompt": "Be brief."})

    assert response.json()["tools"] == ["issue_refund", "lookup_order"]


def test_an_edit_with_nothing_to_change_is_rejected(admin_api, tools):
    create_agent(admin_api)

    response = patch_agent(admin_api, "support-bot", {})

    assert response.status_code == 422
    assert AgentVersion.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "renamed"}, "name"),
        ({"model": None}, "model"),
        ({"tools": ["nope"]}, "tools"),
        ({"budgets": {"max_cost_usd": -1}}, "budgets.max_cost_usd"),
    ],
)
def test_invalid_edits_are_rejected_and_add_no_version(admin_api, tools, body, field):
    create_agent(admin_api)

    response = patch_agent(admin_api, "support-bot", body)

    assert response.status_code == 422, response.content
    assert response.json()["error"]["field"] == field
    assert AgentVersion.objects.count() == 1


def test_editing_an_unknown_agent_is_not_found(admin_api):
    response = patch_agent(admin_api, "ghost", {"model": "sim/x"})

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_versions_continue_after_the_newest_when_an_older_one_is_current(admin_api, tools):
    create_agent(admin_api)
    patch_agent(admin_api, "support-bot", {"model": "sim/chain"})
    agent = Agent.objects.get()
    agent.current_version = AgentVersion.objects.get(number=1)  # a rollback
    agent.save()

    response = patch_agent(admin_api, "support-bot", {"system_prompt": "v3"})

    assert response.json()["version"] == 3
    assert response.json()["model"] == "sim/refund"


@pytest.mark.django_db(transaction=True)
def test_concurrent_edits_each_get_their_own_version(admin_api, tools, sim_priced):
    """The agent row lock serializes edits: without it both would claim version 2."""
    create_agent(admin_api)
    prompts = [f"prompt {n}" for n in range(6)]

    responses = run_concurrently(
        *(
            lambda prompt=prompt: patch_agent(admin_api, "support-bot", {"system_prompt": prompt})
            for prompt in prompts
        )
    )

    assert sorted(r.status_code for r in responses) == [200] * len(prompts)
    assert sorted(r.json()["version"] for r in responses) == list(range(2, 2 + len(prompts)))
    versions = AgentVersion.objects.filter(number__gt=1)
    assert sorted(versions.values_list("system_prompt", flat=True)) == prompts
    assert Agent.objects.get().current_version.number == 1 + len(prompts)


def test_admins_and_reviewers_read_the_current_version(admin_api, reviewer_api, tools):
    create_agent(admin_api)
    patch_agent(admin_api, "support-bot", {"model": "sim/chain"})

    for client in (admin_api, reviewer_api):
        response = client.get(f"{URL}/support-bot")
        assert response.status_code == 200
        assert (response.json()["version"], response.json()["model"]) == (2, "sim/chain")


def test_requesters_may_not_read_agents(requester_api, admin_api, tools):
    create_agent(admin_api)

    assert requester_api.get(f"{URL}/support-bot").status_code == 403
    assert admin_api.get(f"{URL}/ghost").status_code == 404
