"""Notices are claimed before they are sent, retried with backoff after a failure, never sent twice."""

import hashlib
import hmac
import json
from datetime import timedelta

import pytest

from approvals.services import action_request_escalate
from core import clock
from core.webhooks import SIGNATURE_HEADER
from notifications.models import Notice
from notifications.notices import NoticeFailed, notice_create, notice_deliver, notices_sweep, retry_delay_s
from tests.approvals.conftest import make_request
from tests.notifications.conftest import group_channels
from tests.support.races import race

pytestmark = pytest.mark.django_db


def _escalation_settings(settings, url: str) -> None:
    settings.APPROVALS_WEBHOOK_URL = url
    settings.APPROVALS_WEBHOOK_SECRET = "s3cret"
    settings.APPROVALS_ESCALATION_EMAILS = ["oncall@example.com"]


def test_an_escalation_sends_a_signed_webhook_and_an_email_once(
    requester, settings, webhook_receiver, mailoutbox, inline_tasks, django_capture_on_commit_callbacks
):
    url, received = webhook_receiver
    _escalation_settings(settings, url)
    request = make_request(requester)

    with django_capture_on_commit_callbacks(execute=True):
        assert action_request_escalate(request_id=request.id) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert action_request_escalate(request_id=request.id) == 0
    assert notice_deliver(key=f"webhook.escalation:{request.id}") == "skipped"  # a redelivered message

    assert len(received) == 1
    headers, body = received[0]
    assert headers[SIGNATURE_HEADER] == "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert json.loads(body)["event"] == "action_request.escalated"
    assert json.loads(body)["request"]["id"] == str(request.id)
    assert len(mailoutbox) == 1
    assert "waits past its SLA" in mailoutbox[0].subject
    assert mailoutbox[0].to == ["oncall@example.com"]
    assert set(Notice.objects.values_list("status", flat=True)) == {"sent"}


@pytest.mark.django_db(transaction=True)
def test_two_deliveries_racing_send_one_card(requester, slack, monkeypatch):
    group_channels()
    request = make_request(requester)
    monkeypatch.setattr("notifications.notices.notice_enqueue", lambda **kwargs: None)  # the race delivers
    assert notice_create(kind="slack.card", subject=str(request.id))
    key = f"slack.card:{request.id}"

    outcomes = race(*[lambda: notice_deliver(key=key)] * 4)

    assert sorted(outcomes) == ["sent", "skipped", "skipped", "skipped"]
    assert len(slack.named("chat.postMessage")) == 1
    notice = Notice.objects.get(key=key)
    assert (notice.status, notice.attempts) == ("sent", 1)


def test_a_failed_send_is_marked_failed_and_the_retry_sends_it(requester, settings, slack):
    settings.NOTIFY_RETRY_BASE_S = 2
    settings.NOTIFY_MAX_ATTEMPTS = 3
    group_channels()
    request = make_request(requester)
    key = f"slack.card:{request.id}"
    notice_create(kind="slack.card", subject=str(request.id))
    slack.failures = [500, 500, 500]  # slack-sdk does not retry a 500 itself

    with pytest.raises(NoticeFailed):
        notice_deliver(key=key)
    assert Notice.objects.get(key=key).status == "failed"
    assert retry_delay_s(key=key) == 2
    with pytest.raises(NoticeFailed):
        notice_deliver(key=key)
    assert retry_delay_s(key=key) == 4  # doubled
    assert Notice.objects.get(key=key).status == "failed"
    slack.failures = []
    assert notice_deliver(key=key) == "sent"
    assert notice_deliver(key=key) == "skipped"
    assert len(slack.named("chat.postMessage")) == 3  # two failed tries, one success; no fourth


def test_a_notice_gives_up_after_its_last_attempt(requester, settings, slack):
    settings.NOTIFY_MAX_ATTEMPTS = 2
    group_channels()
    request = make_request(requester)
    key = f"slack.card:{request.id}"
    notice_create(kind="slack.card", subject=str(request.id))
    slack.failures = [500, 500, 500]
    with pytest.raises(NoticeFailed):
        notice_deliver(key=key)
    assert notice_deliver(key=key) == "gave_up"
    assert notice_deliver(key=key) == "skipped"
    assert len(slack.named("chat.postMessage")) == 2


def test_a_permanent_slack_error_is_not_retried(requester, slack):
    group_channels()
    request = make_request(requester)
    key = f"slack.card:{request.id}"
    notice_create(kind="slack.card", subject=str(request.id))
    slack.errors["chat.postMessage"] = "channel_not_found"
    assert notice_deliver(key=key) == "gave_up"
    assert "channel_not_found" in Notice.objects.get(key=key).last_error
    assert notice_deliver(key=key) == "skipped"
    assert len(slack.named("chat.postMessage")) == 1


def test_a_claimed_notice_whose_worker_died_is_not_sent_again(requester, slack):
    group_channels()
    request = make_request(requester)
    key = f"slack.card:{request.id}"
    notice_create(kind="slack.card", subject=str(request.id))
    Notice.objects.filter(key=key).update(status="claimed")  # claimed, then the worker was killed
    assert notice_deliver(key=key) == "skipped"
    assert slack.named("chat.postMessage") == []


def test_the_sweeper_enqueues_notices_whose_message_was_lost(requester, monkeypatch, time_machine):
    enqueued: list[str] = []
    monkeypatch.setattr("notifications.notices.notice_enqueue", lambda key, countdown=0: enqueued.append(key))
    request = make_request(requester)
    notice_create(kind="slack.card", subject=str(request.id))  # its after-commit enqueue never runs here
    assert notices_sweep() == 0  # young: its message may still be on the way
    time_machine.move_to(clock.now() + timedelta(minutes=2), tick=False)
    assert notices_sweep() == 1
    assert enqueued == [f"slack.card:{request.id}"]
