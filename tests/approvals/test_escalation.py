"""Escalation: a request past its SLA is flagged and notified by signed webhook and email."""

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine

from approvals.notifications import SIGNATURE_HEADER, escalation_notify
from approvals.services import action_requests_sweep
from console import clock
from tests.approvals.conftest import make_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    received: list[tuple[dict, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()


def test_the_webhook_is_signed_with_hmac_sha256_and_an_email_goes_out(
    requester, settings, receiver, mailoutbox
):
    url, received = receiver
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
