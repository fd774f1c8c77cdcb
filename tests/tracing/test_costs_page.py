"""The cost page: its numbers are the spans' sums, per agent, user and model; tool health; access."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from agents.guards.breakers import breaker_key
from agents.guards.store import guard_redis
from tests.factories import make_agent
from tests.tracing import alerting
from tracing.models import Span

NOW = datetime(2026, 5, 1, 10, 30, tzinfo=UTC)
HOSTILE = "<img src=x onerror=alert(1)>"


def _model_call(task, *, at, cost: str, model: str = "gpt-a") -> None:
    alerting.span(
        task, kind=Span.Kind.MODEL, at=at, **{"tollgate.cost_usd": cost, "gen_ai.request.model": model}
    )


@pytest.fixture
def spend(db, requester, time_machine):
    """Spans across two agents, two owners and two models, plus one outside the 24 h range."""
    time_machine.move_to(NOW, tick=False)
    make_agent("support-bot", model="sim/refund")
    make_agent("research-bot", model="sim/research")
    other = User.objects.create_user("other")
    support = alerting.task(requester, cost="0.300000000003")
    research = alerting.task(other, cost="0.2")
    research.session.agent = research.session.agent.__class__.objects.get(name="research-bot")
    research.session.save(update_fields=["agent"])
    _model_call(support, at=NOW - timedelta(hours=1), cost="0.100000000001")
    _model_call(support, at=NOW - timedelta(hours=1, minutes=5), cost="0.200000000002", model="gpt-b")
    _model_call(research, at=NOW - timedelta(hours=3), cost="0.2")
    _model_call(research, at=NOW - timedelta(days=2), cost="9")  # outside the last 24 h
    for n in range(4):
        at = NOW - timedelta(minutes=2 if n < 2 else 30)
        alerting.span(support, kind=Span.Kind.TOOL, at=at, error=n % 2 == 0, **{"gen_ai.tool.name": "lookup"})
    return support, research


def test_spend_per_agent_user_and_model_equals_the_spans_sums(client, reviewer, spend):
    client.force_login(reviewer)
    url = reverse("tracing:costs")

    per_agent = client.get(url, {"by": "agent"}).context["series"].totals
    per_user = client.get(url, {"by": "user"}).context["series"].totals
    per_model = client.get(url, {"by": "model"}).context["series"].totals

    assert per_agent == {"support-bot": Decimal("0.300000000003"), "research-bot": Decimal("0.2")}
    assert per_user == {"requester": Decimal("0.300000000003"), "other": Decimal("0.2")}
    assert per_model == {"gpt-b": Decimal("0.200000000002"), "gpt-a": Decimal("0.300000000001")}
    week = client.get(url, {"by": "agent", "range": "7d"}).context["series"].totals
    assert week["research-bot"] == Decimal("9.2")


def test_hourly_buckets_place_each_call_in_its_hour(client, reviewer, spend):
    client.force_login(reviewer)

    response = client.get(reverse("tracing:costs"), {"by": "agent"})

    series = response.context["series"]
    assert len(series.buckets) == 25  # from 10:00 yesterday to 10:00 today
    line = dict(zip(series.buckets, series.lines["support-bot"], strict=True))
    assert line[datetime(2026, 5, 1, 9, 0, tzinfo=UTC)] == Decimal("0.300000000003")
    assert sum(series.lines["research-bot"]) == Decimal("0.2")
    assert response.context["chart"]["lines"]["support-bot"][-2] == pytest.approx(0.3)


def test_session_distribution_top_spenders_and_tool_health(client, reviewer, spend):
    support, research = spend
    client.force_login(reviewer)

    context = client.get(reverse("tracing:costs")).context

    assert [(s.session_id, s.cost) for s in context["top_sessions"]] == [
        (str(support.session_id), Decimal("0.300000000003")),
        (str(research.session_id), Decimal("0.2")),
    ]
    assert dict(context["distribution"])["$0.1 to $1"] == 2
    [lookup] = context["tools"]
    assert (lookup.tool, lookup.calls_5m, lookup.errors_5m, lookup.calls_1h, lookup.errors_1h) == (
        "lookup",
        2,
        1,
        4,
        2,
    )
    assert lookup.error_rate_5m == Decimal("0.5")
    assert lookup.breaker == "closed"


def test_tool_health_shows_an_open_breaker(client, reviewer, spend):
    key = breaker_key("lookup")
    guard_redis().hset(key, mapping={"state": "open"})
    try:
        client.force_login(reviewer)
        response = client.get(reverse("tracing:costs"))
    finally:
        guard_redis().delete(key)

    [lookup] = response.context["tools"]
    assert lookup.breaker == "open"
    assert b'class="badge breaker-open">open<' in response.content


def test_names_from_tools_and_models_are_escaped(client, reviewer, requester, time_machine):
    time_machine.move_to(NOW, tick=False)
    make_agent("support-bot", model="sim/refund")
    task = alerting.task(requester)
    _model_call(task, at=NOW - timedelta(minutes=1), cost="0.1", model=HOSTILE)
    alerting.span(task, kind=Span.Kind.TOOL, at=NOW - timedelta(minutes=1), **{"gen_ai.tool.name": HOSTILE})
    client.force_login(reviewer)

    html = client.get(reverse("tracing:costs"), {"by": "model"}).content.decode()

    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_only_reviewers_and_admins_see_costs(client, requester, admin, outsider):
    url = reverse("tracing:costs")
    assert client.get(url).status_code == 302
    for user in (requester, outsider):
        client.force_login(user)
        assert client.get(url).status_code == 403
    client.force_login(admin)
    assert client.get(url).status_code == 200


def test_unknown_range_and_grouping_fall_back_to_the_defaults(client, reviewer, db):
    client.force_login(reviewer)

    context = client.get(reverse("tracing:costs"), {"range": "bogus", "by": "__class__"}).context

    assert (context["range"], context["by"]) == ("24h", "agent")


def test_the_page_runs_a_constant_number_of_queries(client, reviewer, spend, django_assert_max_num_queries):
    client.force_login(reviewer)

    # Session, user, reviewer check, spend series, session costs, tool health.
    with django_assert_max_num_queries(7):
        assert client.get(reverse("tracing:costs")).status_code == 200


def test_cost_page_runs_a_constant_number_of_queries(
    client, reviewer, requester, time_machine, django_assert_max_num_queries
):
    time_machine.move_to(NOW, tick=False)
    make_agent("support-bot", model="sim/refund")
    for n in range(30):
        task = alerting.task(requester, cost="0.01")
        _model_call(task, at=NOW - timedelta(days=n % 29, hours=1), cost="0.01", model=f"gpt-{n % 4}")
        alerting.span(
            task, kind=Span.Kind.TOOL, at=NOW - timedelta(minutes=n), **{"gen_ai.tool.name": f"t{n}"}
        )
    client.force_login(reviewer)

    # Login session, user and role, spend over time, top sessions, their distribution, tool health.
    with django_assert_max_num_queries(7):
        response = client.get(reverse("tracing:costs"), {"range": "30d", "by": "model"})

    assert sum(count for _label, count in response.context["distribution"]) == 30
    assert len(response.context["top_sessions"]) == 10
    assert response.context["total"] == Decimal("0.30")


def test_a_call_whose_session_is_unknown_is_counted_under_a_dash(client, reviewer, requester, time_machine):
    time_machine.move_to(NOW, tick=False)
    make_agent("support-bot", model="sim/refund")
    task = alerting.task(requester)
    for conversation in ("not-a-uuid'; --", "00000000-0000-0000-0000-000000000000"):
        alerting.span(
            task,
            kind=Span.Kind.MODEL,
            at=NOW - timedelta(minutes=5),
            **{"tollgate.cost_usd": "0.5", "gen_ai.conversation.id": conversation},
        )
    client.force_login(reviewer)

    response = client.get(reverse("tracing:costs"), {"by": "agent"})

    assert response.status_code == 200
    assert response.context["series"].totals == {"—": Decimal("1.0")}
