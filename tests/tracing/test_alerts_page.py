"""The alerts page: who reads it, who edits thresholds, escaping, queries."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.support.plans import plan_without_sorting
from tests.tracing import alerting
from tracing.models import Alert, AlertRule

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture
def rules(db) -> list[AlertRule]:
    return [alerting.rule(kind) for kind in AlertRule.Kind.values]


def test_reviewers_and_admins_read_it_others_may_not(client, rules, requester, reviewer, admin):
    url = reverse("tracing:alerts")
    assert client.get(url).status_code == 302
    client.force_login(requester)
    assert client.get(url).status_code == 403
    client.force_login(reviewer)
    response = client.get(url)
    assert response.status_code == 200
    assert 'name="threshold"' not in response.content.decode()
    client.force_login(admin)
    assert 'name="threshold"' in client.get(url).content.decode()


def test_firing_and_resolved_alerts_show_with_escaped_detail(client, rules, reviewer):
    at = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    Alert.objects.create(rule=rules[0], subject=HOSTILE, value=Decimal("0.5"), detail=HOSTILE, fired_at=at)
    Alert.objects.create(
        rule=rules[1],
        subject="",
        value=1,
        detail="old",
        fired_at=at,
        state=Alert.State.RESOLVED,
        resolved_at=at,
    )
    client.force_login(reviewer)

    html = client.get(reverse("tracing:alerts")).content.decode()

    assert "<img" not in html
    assert html.count("&lt;img src=x onerror=alert(1)&gt;") == 2
    assert '<tr class="alert-firing">' in html
    assert '<tr class="alert-resolved">' in html


def test_an_admin_edits_a_threshold_and_the_rule_keeps_it(client, rules, admin):
    client.force_login(admin)
    url = reverse("tracing:alert_rule", args=["tool_error_rate"])

    response = client.post(url, {"threshold": "0.1", "window_s": "600", "min_samples": "20"})

    assert response.status_code == 302
    rule = AlertRule.objects.get(kind="tool_error_rate")
    assert (rule.threshold, rule.window_s, rule.min_samples, rule.enabled) == (Decimal("0.1"), 600, 20, False)


def test_invalid_edits_change_nothing_and_say_why(client, rules, admin):
    client.force_login(admin)
    url = reverse("tracing:alert_rule", args=["tool_error_rate"])

    for bad in ({"threshold": "-1", "window_s": "600", "min_samples": "1"}, {"threshold": "x"}, {}):
        response = client.post(url, bad, follow=True)
        assert response.status_code == 200
        assert "not saved" in response.content.decode()

    assert AlertRule.objects.get(kind="tool_error_rate").threshold == Decimal("0.05")
    assert client.post(reverse("tracing:alert_rule", args=["nope"]), {}).status_code == 404


def test_only_admins_edit_rules(client, rules, reviewer):
    client.force_login(reviewer)
    url = reverse("tracing:alert_rule", args=["tool_error_rate"])

    assert client.post(url, {"threshold": "0.9", "window_s": "600", "min_samples": "1"}).status_code == 403
    assert AlertRule.objects.get(kind="tool_error_rate").threshold == Decimal("0.05")


def test_the_page_runs_a_constant_number_of_queries(client, rules, reviewer, django_assert_max_num_queries):
    at = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    for n in range(30):
        Alert.objects.create(
            rule=rules[n % 5], subject=f"s{n}", value=1, detail="d", fired_at=at, state=Alert.State.RESOLVED
        )
    client.force_login(reviewer)

    # Session, user, reviewer group check, rules, alerts with their rules, messages.
    with django_assert_max_num_queries(6):
        assert client.get(reverse("tracing:alerts")).status_code == 200


def test_the_recent_firings_come_in_index_order_not_by_sorting_the_year(client, rules, reviewer):
    # A year of firings: the page's 100 come from an index in (state, newest) order.
    at = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    Alert.objects.create(rule=rules[0], subject="s", value=1, detail="d", fired_at=at)
    client.force_login(reviewer)
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("tracing:alerts"))

    [listing] = [q["sql"] for q in queries if 'FROM "tracing_alert" ' in q["sql"]]
    assert "Sort" not in plan_without_sorting(listing)
