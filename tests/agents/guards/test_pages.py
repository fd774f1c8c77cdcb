"""The guardrails console: admins see alerts and breakers and edit an agent's guard settings."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.test import Client

from agents.guards.breakers import ToolLimits, breaker_record
from agents.guards.models import GuardAlert, GuardConfig
from agents.guards.store import guard_redis
from agents.models import Tool
from tests.factories import make_agent, make_http_tool

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(admin) -> Client:
    client = Client()
    client.force_login(admin)
    return client


def test_admins_see_alerts_and_each_tools_breaker(admin_client):
    tool = make_http_tool("inventory", "http://127.0.0.1:9/")
    make_http_tool("healthy", "http://127.0.0.1:9/")
    limits = ToolLimits(
        requests_per_minute=10, breaker_failures=1, breaker_error_rate=1, breaker_cooldown_s=60
    )
    breaker_record(tool=tool, limits=limits, failed=True)
    GuardAlert.objects.create(
        scope="user_day",
        scope_key="k1",
        subject="user <b>alice</b>",
        ceiling_usd=Decimal(5),
        spent_usd=Decimal("4.2"),
        at=datetime(2026, 3, 1, tzinfo=UTC),
    )

    page = admin_client.get("/guards/").content.decode()

    assert 'class="breaker-open">open<' in page
    assert 'class="breaker-closed">closed<' in page
    assert "user &lt;b&gt;alice&lt;/b&gt;" in page
    assert "4.200000" in page


def test_only_staff_may_see_or_edit_guardrails(requester):
    make_agent("a1", model="sim/echo")
    client = Client()
    client.force_login(requester)

    assert client.get("/guards/").status_code == 302
    assert client.post("/guards/agents/a1/", {"retry_budget": "1"}).status_code == 302
    assert not GuardConfig.objects.exists()


def test_an_admin_edits_an_agents_guard_settings(admin_client):
    agent = make_agent("a1", model="sim/echo")

    response = admin_client.post(
        "/guards/agents/a1/",
        {"retry_budget": "2", "user_day_usd": "1.5", "routing": '{"classify": "sim/echo"}'},
    )

    assert response.status_code == 302
    config = GuardConfig.objects.get(agent=agent)
    assert (config.retry_budget, config.user_day_usd, config.routing) == (
        2,
        Decimal("1.5"),
        {"classify": "sim/echo"},
    )
    assert config.session_max_tokens is None  # empty: the global default


def test_a_routing_table_naming_an_unknown_complexity_is_refused(admin_client):
    make_agent("a1", model="sim/echo")

    response = admin_client.post("/guards/agents/a1/", {"routing": '{"huge": "sim/echo"}'})

    assert response.status_code == 200
    assert "unknown complexity" in response.content.decode()
    assert not GuardConfig.objects.exists()


def test_the_breakers_are_a_page_of_tools_read_from_redis_in_one_round_trip(admin_client, monkeypatch):
    # External agents add a tool for every name they give the gate API: the page shows 50 at
    # a time and asks Redis for their breakers together, not once a tool.
    Tool.objects.bulk_create(Tool(name=f"ext_{n:02}", kind=Tool.Kind.EXTERNAL) for n in range(60))
    tool = Tool.objects.get(name="ext_03")
    limits = ToolLimits(
        requests_per_minute=10, breaker_failures=1, breaker_error_rate=1, breaker_cooldown_s=60
    )
    breaker_record(tool=tool, limits=limits, failed=True)
    client = guard_redis()
    calls = {"hgetall": 0, "pipeline": 0}

    class Counting:
        def __getattr__(self, name):
            if name in calls:
                calls[name] += 1
            return getattr(client, name)

    monkeypatch.setattr("agents.guards.breakers.guard_redis", Counting)

    first = admin_client.get("/guards/").content.decode()
    second = admin_client.get("/guards/", {"page": 2}).content.decode()

    assert calls == {"hgetall": 0, "pipeline": 2}
    assert first.count("<td>ext_") == 50
    assert "<td>ext_49</td>" in first
    assert second.count("<td>ext_") == 10
    assert "<td>ext_50</td>" in second
    assert first.count('class="breaker-open">open<') == 1
