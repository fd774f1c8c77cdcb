"""Each of the five alert rules fires on constructed data and resolves when it no longer holds."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from core import clock
from tests.factories import make_agent
from tests.tracing import alerting
from tracing.alerts.services import alerts_evaluate
from tracing.models import Alert, AlertRule, Span

NOON_SOON = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def agent(db):
    return make_agent("support-bot", model="sim/refund")


@pytest.fixture(autouse=True)
def no_notices(monkeypatch):
    # What a transition sends is tests/notifications/test_alert_notices.py's subject.
    monkeypatch.setattr("tracing.alerts.services._notify_later", lambda alert_id, transition: None)


def _firing(kind: str) -> dict[str, Alert]:
    return {a.subject: a for a in Alert.objects.filter(rule__kind=kind, state=Alert.State.FIRING)}


def test_a_tools_error_rate_above_5_percent_in_5_minutes_fires_then_resolves(requester, time_machine):
    time_machine.move_to(NOON_SOON, tick=False)
    alerting.rule(AlertRule.Kind.TOOL_ERROR_RATE)
    task = alerting.task(requester)
    now = clock.now()
    for n in range(10):
        attributes = {"gen_ai.tool.name": "flaky"}
        alerting.span(task, kind=Span.Kind.TOOL, at=now - timedelta(minutes=1), error=n < 2, **attributes)
        alerting.span(
            task, kind=Span.Kind.TOOL, at=now - timedelta(minutes=1), **{"gen_ai.tool.name": "solid"}
        )
    alerting.span(
        task, kind=Span.Kind.TOOL, at=now - timedelta(minutes=1), error=True, **{"gen_ai.tool.name": "rare"}
    )

    assert alerts_evaluate(now=clock.now()) == {"fired": 1, "resolved": 0}

    firing = _firing(AlertRule.Kind.TOOL_ERROR_RATE)
    assert list(firing) == ["flaky"]  # "rare" failed its one call: too few calls to judge
    assert firing["flaky"].value == Decimal("0.2")
    assert "2 of 10 calls failed" in firing["flaky"].detail

    time_machine.move_to(NOON_SOON + timedelta(minutes=6), tick=False)
    assert alerts_evaluate(now=clock.now()) == {"fired": 0, "resolved": 1}
    assert _firing(AlertRule.Kind.TOOL_ERROR_RATE) == {}


def test_an_error_rate_at_the_threshold_does_not_fire(requester, time_machine):
    time_machine.move_to(NOON_SOON, tick=False)
    alerting.rule(AlertRule.Kind.TOOL_ERROR_RATE)
    task = alerting.task(requester)
    for n in range(20):
        alerting.span(task, kind=Span.Kind.TOOL, at=clock.now(), error=n == 0, **{"gen_ai.tool.name": "ok"})

    assert alerts_evaluate(now=clock.now()) == {"fired": 0, "resolved": 0}


def test_spend_on_pace_to_pass_the_daily_budget_fires_and_a_new_day_resolves_it(
    requester, settings, time_machine
):
    settings.ALERTS_DAILY_COST_BUDGET_USD = Decimal("10")
    settings.ALERTS_DAILY_TOKEN_BUDGET = 0
    alerting.rule(AlertRule.Kind.BUDGET_BURN)
    time_machine.move_to(NOON_SOON, tick=False)
    task = alerting.task(requester)
    # By 10:00 the pace allows 0.75 * 10/12 = 62.5% of the budget.
    alerting.step(task, at=NOON_SOON - timedelta(hours=2), cost="6.00")
    assert alerts_evaluate(now=clock.now()) == {"fired": 0, "resolved": 0}

    alerting.step(task, at=NOON_SOON - timedelta(hours=1), cost="0.50", index=1)
    assert alerts_evaluate(now=clock.now()) == {"fired": 1, "resolved": 0}
    assert _firing(AlertRule.Kind.BUDGET_BURN)["cost"].value == Decimal("0.65")

    time_machine.move_to(NOON_SOON + timedelta(days=1), tick=False)
    assert alerts_evaluate(now=clock.now()) == {"fired": 0, "resolved": 1}


def test_token_burn_is_judged_against_the_daily_token_budget(requester, settings, time_machine):
    settings.ALERTS_DAILY_COST_BUDGET_USD = Decimal("0")
    settings.ALERTS_DAILY_TOKEN_BUDGET = 1_000
    alerting.rule(AlertRule.Kind.BUDGET_BURN)
    time_machine.move_to(NOON_SOON, tick=False)
    alerting.step(alerting.task(requester), at=NOON_SOON - timedelta(minutes=5), cost="0", tokens=1_000)

    alerts_evaluate(now=clock.now())

    assert list(_firing(AlertRule.Kind.BUDGET_BURN)) == ["tokens"]


def test_session_duration_p99_above_twice_p50_fires_and_resolves(requester, time_machine):
    alerting.rule(AlertRule.Kind.STUCK_SESSIONS)
    time_machine.move_to(NOON_SOON, tick=False)
    for n in range(20):
        alerting.task(requester, started=NOON_SOON - timedelta(minutes=30 + n), seconds=10)
    stuck = alerting.task(requester, started=NOON_SOON - timedelta(minutes=40))

    assert alerts_evaluate(now=clock.now()) == {"fired": 1, "resolved": 0}
    assert _firing(AlertRule.Kind.STUCK_SESSIONS)[""].value > 2

    stuck.delete()
    assert alerts_evaluate(now=clock.now()) == {"fired": 0, "resolved": 1}


def test_cost_per_session_p95_above_three_times_the_median_fires_and_resolves(requester, time_machine):
    alerting.rule(AlertRule.Kind.COST_OUTLIERS)
    time_machine.move_to(NOON_SOON, tick=False)
    for _ in range(20):
        alerting.task(requester, cost="0.01")
    outliers = [alerting.task(requester, cost="1.00") for _ in range(2)]

    assert alerts_evaluate(now=clock.now()) == {"fired": 1, "resolved": 0}

    for outlier in outliers:
        outlier.delete()
    assert alerts_evaluate(now=clock.now()) == {"fired": 0, "resolved": 1}


def test_injection_detections_above_3_sigma_of_their_hourly_rate_fire_and_resolve(requester, time_machine):
    alerting.rule(AlertRule.Kind.INJECTION_SPIKE)
    time_machine.move_to(NOON_SOON, tick=False)
    task = alerting.task(requester)
    detection = {"tollgate.guardrail.name": "untrusted_injection", "tollgate.guardrail.verdict": "halt"}
    for hours_ago in (3, 7, 15):  # a background of about one detection every few hours
        alerting.span(task, kind=Span.Kind.GUARDRAIL, at=NOON_SOON - timedelta(hours=hours_ago), **detection)
    allowed = {**detection, "tollgate.guardrail.verdict": "allow"}
    for _ in range(10):
        alerting.span(task, kind=Span.Kind.GUARDRAIL, at=NOON_SOON - timedelta(minutes=5), **allowed)
    assert alerts_evaluate(now=clock.now()) == {"fired": 0, "resolved": 0}

    for minute in range(5):
        alerting.span(task, kind=Span.Kind.GUARDRAIL, at=NOON_SOON - timedelta(minutes=minute), **detection)
    assert alerts_evaluate(now=clock.now()) == {"fired": 1, "resolved": 0}
    assert _firing(AlertRule.Kind.INJECTION_SPIKE)[""].value == 5

    time_machine.move_to(NOON_SOON + timedelta(hours=2), tick=False)
    assert alerts_evaluate(now=clock.now()) == {"fired": 0, "resolved": 1}


def test_with_no_detections_at_all_the_injection_rule_stays_quiet(time_machine):
    alerting.rule(AlertRule.Kind.INJECTION_SPIKE)
    time_machine.move_to(NOON_SOON, tick=False)

    assert alerts_evaluate(now=clock.now()) == {"fired": 0, "resolved": 0}


def test_a_disabled_rule_is_not_evaluated(requester, time_machine):
    rule = alerting.rule(AlertRule.Kind.COST_OUTLIERS)
    AlertRule.objects.filter(pk=rule.pk).update(enabled=False)
    time_machine.move_to(NOON_SOON, tick=False)
    for _ in range(20):
        alerting.task(requester, cost="0.01")
    alerting.task(requester, cost="5")
    alerting.task(requester, cost="5")

    assert alerts_evaluate(now=clock.now()) == {"fired": 0, "resolved": 0}
