"""The decision callback against hostile receivers: one that trickles its answer and one that
never stops ends within the webhook deadline, with memory bounded; and the sending thread's
database connection is back in the pool while it waits on the receiver."""

import tracemalloc
from http.server import BaseHTTPRequestHandler

import pytest
from django.db import connections

from approvals.external.callback import external_callback_send
from approvals.services import action_request_decide
from tests.conftest import _api_client
from tests.gate.conftest import ask, request_of
from tests.support.http import answering_slowly, serving

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("tiers")]

STATUS_LINE = b"HTTP/1.1 200 OK\r\n"


@pytest.fixture
def decided(requester, reviewer, settings, monkeypatch):
    """Makes a decided action whose callback goes to `url`; the webhook deadline is 1 s."""
    settings.GATE_CALLBACK_SECRET = "callback-secret-" * 2
    monkeypatch.setattr("core.webhooks.TIMEOUT_S", 1.0)

    def make(url: str) -> str:
        answer = ask(_api_client(requester), arguments={"amount": 500}, callback_url=url).json()
        action_request_decide(
            action_request=request_of(answer), actor=reviewer, decision="reject", comment="no"
        )
        return answer["id"]

    return make


@pytest.mark.parametrize(
    "head",
    [STATUS_LINE + b"X-Pad: ", STATUS_LINE + b"Content-Length: 4000\r\n\r\n"],
    ids=["headers", "body"],
)
def test_a_trickling_receiver_is_given_up_at_the_deadline_and_retried(decided, head):
    sent: list[int] = []
    # A byte every 0.1 s: each read is quick, the answer would take 400 s.
    with serving(answering_slowly(head, b"x", every_s=0.1, sent=sent, limit=4_000)) as url:
        outcome = external_callback_send(action_id=decided(f"{url}/cb"))
        sent_while_sent = sum(sent) - len(head)

    assert isinstance(outcome, str), outcome  # not delivered: the task retries it
    assert sent_while_sent < 50, sent_while_sent  # about 1 s worth, not the 400 s answer


def test_a_receiver_answering_without_end_is_read_only_a_few_kilobytes(decided):
    sent: list[int] = []
    head = STATUS_LINE + b"Content-Type: text/plain\r\n\r\n"  # no length: the body lasts until close
    handler = answering_slowly(head, b"x" * 65_536, every_s=0, sent=sent, limit=1 << 30)
    with serving(handler) as url:
        action_id = decided(f"{url}/cb")
        tracemalloc.start()
        try:
            outcome = external_callback_send(action_id=action_id)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

    assert outcome == 200  # its status is all the callback needs
    assert peak < 8 << 20, peak  # unbounded, it read 832 MiB in 3 s


def test_the_database_connection_is_back_in_the_pool_during_the_post(decided):
    wrapper = connections["default"]  # this thread's; the receiver runs on another
    held: list[bool] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            held.append(wrapper.connection is not None)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    with serving(Receiver) as url:
        action_id = decided(f"{url}/cb")
        assert wrapper.connection is not None  # deciding used it
        assert external_callback_send(action_id=action_id) == 204

    assert held == [False]
