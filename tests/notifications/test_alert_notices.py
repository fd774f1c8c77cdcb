"""Alert notices: a signed JSON webhook and an email, once per transition however often it is
evaluated or its message delivered, retried when the receiver fails."""

import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from core import clock
from notifications.dispatch import alert_transition_dispatch
from notifications.models import Notice
from notifications.notices import NoticeFailed, notice_create, notice_deliver
from tests.factories import make_agent
from tests.support.races import race
from tests.tracing import alerting
from tracing.alerts import rules, services
from tracing.models import Alert, AlertRule, Span

NOW = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
SECRET = "webhook-secret"


@pytest.fixture
def notices(settings, webhook_receiver, inline_tasks) -> list[tuple[dict, bytes]]:
    url, received = webhook_receiver
    settings.ALERTS_WEBHOOK_URL = url
    settings.ALERTS_WEBHOOK_SECRET = SECRET
    settings.ALERTS_EMAILS = ["ops@example.com"]
    return received


def _failing_tool(requester, count: int = 10) -> None:
    make_agent("support-bot", model="sim/refund")
    task = alerting.task(requester)
    for _ in range(count):
        alerting.span(
            task, kind=Span.Kind.TOOL, at=NOW - timedelta(minutes=1), error=True, **{"gen_ai.tool.name": "t"}
        )


def test_a_firing_notifies_once_with_a_signed_webhook_and_an_email_then_once_when_resolved(
    db, requester, notices, mailoutbox, time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to(NOW, tick=False)
    alerting.rule(AlertRule.Kind.TOOL_ERROR_RATE)
    _failing_tool(requester)

    for _ in range(3):  # three evaluations while it keeps firing
        with django_capture_on_commit_callbacks(execute=True):
            services.alerts_evaluate(now=clock.now())

    assert len(notices) == 1
    headers, body = notices[0]
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Tollgate-Signature"], expected)
    event = json.loads(body)
    assert event["event"] == "alert.fired"
    assert event["alert"]["rule"] == "tool_error_rate"
    assert (event["alert"]["subject"], event["alert"]["state"], event["alert"]["value"]) == (
        "t",
        "firing",
        "1.000000",
    )
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["ops@example.com"]
    assert "Tool error rate (t)" in mailoutbox[0].subject
    assert "10 of 10 calls failed" in mailoutbox[0].body

    time_machine.move_to(NOW + timedelta(minutes=10), tick=False)
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            services.alerts_evaluate(now=clock.now())

    assert [json.loads(body)["event"] for _, body in notices] == ["alert.fired", "alert.resolved"]
    assert len(mailoutbox) == 2


def test_nothing_is_sent_before_the_firing_commits(
    db, requester, notices, time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to(NOW, tick=False)
    alerting.rule(AlertRule.Kind.TOOL_ERROR_RATE)
    _failing_tool(requester)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.alerts_evaluate(now=clock.now())

    assert notices == []
    assert len(callbacks) == 1  # the listener: notifications


def test_a_redelivered_notice_is_not_sent_again(
    db, requester, notices, mailoutbox, time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to(NOW, tick=False)
    rule = alerting.rule(AlertRule.Kind.TOOL_ERROR_RATE)
    alert = Alert.objects.create(rule=rule, subject="t", value=1, detail="d", fired_at=NOW)

    with django_capture_on_commit_callbacks(execute=True):
        alert_transition_dispatch(alert_id=alert.pk, transition="fired")
        alert_transition_dispatch(alert_id=alert.pk, transition="fired")  # a second dispatch
    assert notice_deliver(key=f"webhook.alert:{alert.pk}:fired") == "skipped"  # a redelivered message
    assert len(notices) == 1
    assert len(mailoutbox) == 1


def test_a_failed_alert_webhook_is_retried_not_lost(db, requester, settings, time_machine):
    time_machine.move_to(NOW, tick=False)
    settings.ALERTS_WEBHOOK_URL = "http://127.0.0.1:9/nothing-listens-here"
    rule = alerting.rule(AlertRule.Kind.TOOL_ERROR_RATE)
    alert = Alert.objects.create(rule=rule, subject="t", value=1, detail="d", fired_at=NOW)
    notice_create(kind="webhook.alert", subject=str(alert.pk), suffix=":fired")
    key = f"webhook.alert:{alert.pk}:fired"
    with pytest.raises(NoticeFailed):
        notice_deliver(key=key)
    assert Notice.objects.get(key=key).status == "failed"  # the Celery task retries it with backoff


@pytest.mark.django_db(transaction=True)
def test_two_evaluations_racing_open_one_firing_and_send_one_notice(
    requester, notices, monkeypatch, time_machine
):
    time_machine.move_to(NOW, tick=False)
    alerting.rule(AlertRule.Kind.TOOL_ERROR_RATE)
    _failing_tool(requester)
    # Both evaluations measure before either writes, so both see no firing and both try to open one.
    both_measured = threading.Barrier(2, timeout=10)
    measure = rules.MEASURES[AlertRule.Kind.TOOL_ERROR_RATE]

    def measure_then_wait(rule, now):
        observations = measure(rule, now)
        both_measured.wait()
        return observations

    monkeypatch.setitem(rules.MEASURES, AlertRule.Kind.TOOL_ERROR_RATE, measure_then_wait)
    results = race(*[lambda: services.alerts_evaluate(now=NOW)] * 2, expected=())

    assert sorted(result["fired"] for result in results) == [0, 1]
    assert Alert.objects.count() == 1
    assert len(notices) == 1
