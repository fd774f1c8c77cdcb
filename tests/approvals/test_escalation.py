"""Escalation: a request past its SLA is flagged and notified by signed webhook and email."""

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
import time_machine

from approvals.notifications import escalation_notify
from approvals.services import action_requests_sweep
from core import clock
from core.webhooks import SIGNATURE_HEADER
from tests.approvals.conftest import make_request

pytestmark = pytest.mark.django_db


def test_the_webhook_is_signed_with_hmac_sha256_and_an_email_goes_out(
    requester, settings, webhook_receiver, mailoutbox
):
    url, received = webhook_receiver
    settings.APPROVALS_WEBHOOK_URL = url
    settings.APPROVALS_WEBHOOK_SECRET = "s3cret"
    settings.APPROVALS_ESCALATION_EMAILS = ["oncall@example.com"]
    request = make_request(requester)

    sent = escalation_notify(request_id=request.id)

    assert sent == {"webhook": 204, "email": 1}
    headers, body = received[0]
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers[SIGNATURE_HEADER] == expected
    assert json.loads(body)["request"]["id"] == str(request.id)
    assert json.loads(body)["event"] == "action_request.escalated"
    assert "refund_tool" in mailoutbox[0].subject


def test_the_sweeper_flags_a_request_once_past_its_sla(requester):
    request = make_request(requester, sla_at=clock.now() + timedelta(minutes=15))
    assert action_requests_sweep()["escalated"] == 0
    with time_machine.travel(clock.now() + timedelta(minutes=16)):
        assert action_requests_sweep()["escalated"] == 1
        assert action_requests_sweep()["escalated"] == 0
    request.refresh_from_db()
    assert request.escalated_at is not None
