"""PagerDuty: an escalation triggers once and its decision resolves once; alerts likewise."""

from datetime import timedelta

import pytest

from approvals.services import action_request_decide, action_requests_sweep
from core import clock
from notifications.dispatch import alert_transition_dispatch
from notifications.models import Notice
from notifications.pagerduty import alert_severity, request_severity
from tests.approvals.conftest import make_request
from tests.notifications.conftest import group_channels
from tests.support.proxy import forwarding_proxy

pytestmark = pytest.mark.django_db

ROUTING_KEY = "R0UTINGKEY0123456789012345678901"


@pytest.fixture
def routing_key(monkeypatch) -> str:
    monkeypatch.setenv("PAGERDUTY_KEY_REVIEWERS", ROUTING_KEY)
    return "PAGERDUTY_KEY_REVIEWERS"


def test_an_escalated_request_triggers_once_and_resolves_once_when_decided(
    requester,
    reviewer,
    pagerduty,
    routing_key,
    inline_tasks,
    time_machine,
    django_capture_on_commit_callbacks,
):
    group_channels(slack_channel="", pagerduty_key_env=routing_key, events=["escalated"])
    request = make_request(requester, sla_at=clock.now() + timedelta(minutes=15))
    time_machine.move_to(clock.now() + timedelta(minutes=16), tick=False)
    for _ in range(3):  # the sweeper runs again while the request still waits
        with django_capture_on_commit_callbacks(execute=True):
            action_requests_sweep()

    [trigger] = pagerduty.named("enqueue")
    assert trigger["routing_key"] == ROUTING_KEY
    assert trigger["event_action"] == "trigger"
    assert trigger["dedup_key"] == f"tollgate-ar-{request.id}"
    assert trigger["payload"]["severity"] == "warning"
    assert trigger["payload"]["source"] == "tollgate"

    with django_capture_on_commit_callbacks(execute=True):
        action_request_decide(action_request=request, actor=reviewer, decision="approve")
    assert [event["event_action"] for event in pagerduty.named("enqueue")] == ["trigger", "resolve"]
    resolve = pagerduty.named("enqueue")[1]
    assert resolve["dedup_key"] == trigger["dedup_key"]
    assert "payload" not in resolve


def test_a_request_never_escalated_resolves_nothing(
    requester, reviewer, pagerduty, routing_key, inline_tasks, django_capture_on_commit_callbacks
):
    group_channels(slack_channel="", pagerduty_key_env=routing_key, events=["escalated"])
    request = make_request(requester)
    with django_capture_on_commit_callbacks(execute=True):
        action_request_decide(action_request=request, actor=reviewer, decision="approve")
    assert pagerduty.calls == []


def test_a_pagerduty_outage_is_retried(requester, pagerduty, routing_key, settings):
    from notifications.notices import NoticeFailed, notice_create, notice_deliver

    group_channels(slack_channel="", pagerduty_key_env=routing_key, events=["escalated"])
    request = make_request(requester)
    notice_create(kind="pagerduty.trigger", subject=f"ar:{request.id}")
    pagerduty.failures = [503]
    with pytest.raises(NoticeFailed):
        notice_deliver(key=f"pagerduty.trigger:ar:{request.id}")
    assert notice_deliver(key=f"pagerduty.trigger:ar:{request.id}") == "sent"
    assert len(pagerduty.calls) == 2


def test_a_key_variable_outside_the_pagerduty_prefix_is_never_read(
    requester, pagerduty, inline_tasks, monkeypatch
):
    from notifications.notices import notice_create

    monkeypatch.setenv("DJANGO_SECRET_KEY", "do-not-send-me")
    group_channels(slack_channel="", pagerduty_key_env="DJANGO_SECRET_KEY", events=["escalated"])
    request = make_request(requester)
    notice_create(kind="pagerduty.trigger", subject=f"ar:{request.id}")
    # The after-commit enqueue does not run in this transaction; deliver by hand.
    from notifications.notices import notice_deliver

    assert notice_deliver(key=f"pagerduty.trigger:ar:{request.id}") == "gave_up"
    assert pagerduty.calls == []


def test_an_alert_triggers_when_it_fires_and_resolves_when_it_resolves(
    requester, pagerduty, settings, inline_tasks, django_capture_on_commit_callbacks
):
    from tests.tracing import alerting
    from tracing.models import Alert, AlertRule

    settings.PAGERDUTY_ALERTS_ROUTING_KEY = ROUTING_KEY
    rule = alerting.rule(AlertRule.Kind.BUDGET_BURN)
    alert = Alert.objects.create(rule=rule, subject="cost", value=2, detail="on pace", fired_at=clock.now())
    with django_capture_on_commit_callbacks(execute=True):
        alert_transition_dispatch(alert_id=alert.pk, transition="fired")
        alert_transition_dispatch(alert_id=alert.pk, transition="fired")
        alert_transition_dispatch(alert_id=alert.pk, transition="resolved")
        alert_transition_dispatch(alert_id=alert.pk, transition="resolved")
    events = pagerduty.named("enqueue")
    assert [event["event_action"] for event in events] == ["trigger", "resolve"]
    assert {event["dedup_key"] for event in events} == {f"tollgate-alert-{alert.pk}"}
    assert events[0]["payload"]["severity"] == "critical"
    assert Notice.objects.filter(status="sent").count() == 2


def test_the_severity_map_follows_the_seeds():
    assert request_severity("critical") == "critical"  # P1
    assert request_severity("high") == request_severity("medium") == "warning"  # P2
    assert alert_severity("budget_burn") == "critical"
    assert alert_severity("tool_error_rate") == "warning"


def test_a_trigger_goes_through_the_environments_proxy(
    requester,
    pagerduty,
    routing_key,
    inline_tasks,
    time_machine,
    django_capture_on_commit_callbacks,
    monkeypatch,
    settings,
):
    # A deployment whose only way out is a proxy still pages (a transport of our own once made
    # httpx ignore HTTP_PROXY).
    group_channels(slack_channel="", pagerduty_key_env=routing_key, events=["escalated"])
    request = make_request(requester, sla_at=clock.now() + timedelta(minutes=15))
    time_machine.move_to(clock.now() + timedelta(minutes=16), tick=False)
    for name in ("NO_PROXY", "no_proxy", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with forwarding_proxy() as (proxy_url, forwarded):
        monkeypatch.setenv("HTTP_PROXY", proxy_url)
        with django_capture_on_commit_callbacks(execute=True):
            action_requests_sweep()

    [trigger] = pagerduty.named("enqueue")
    assert trigger["dedup_key"] == f"tollgate-ar-{request.id}"
    assert forwarded == [settings.PAGERDUTY_EVENTS_URL]
