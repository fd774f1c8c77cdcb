"""The long-poll wakes on the decision's push, the callback is signed, and races settle once."""

import hashlib
import hmac
import json
import threading
import time

import pytest

from approvals.external.callback import external_callback_send
from approvals.models import ExternalAction
from approvals.services import action_request_decide
from tests.conftest import _api_client
from tests.gate.conftest import ask, poll, report, request_of
from tests.support.races import race

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("tiers")]


def test_a_waiting_caller_gets_the_decision_when_a_reviewer_makes_it(requester, reviewer):
    client = _api_client(requester)
    answer = ask(client, arguments={"amount": 500}).json()
    got: list[dict] = []
    waiter = threading.Thread(
        target=lambda: got.append(poll(_api_client(requester), answer["id"], wait=30).json())
    )
    waiter.start()
    time.sleep(0.5)  # let it subscribe; a decision before that is caught by its second read
    action_request_decide(action_request=request_of(answer), actor=reviewer, decision="approve")
    waiter.join(timeout=25)
    assert not waiter.is_alive(), "the long-poll did not wake on the decision"
    assert got[0]["decision"] == "allow"
    assert got[0]["execution_token"]


def test_a_long_poll_that_times_out_answers_pending(requester_api):
    answer = ask(requester_api, arguments={"amount": 500}).json()
    assert poll(requester_api, answer["id"], wait=0.2).json()["decision"] == "pending"


def test_two_asks_with_one_key_make_one_action(requester):
    clients = [_api_client(requester), _api_client(requester)]
    responses = race(
        *(lambda c=c: ask(c, arguments={"amount": 500}, idempotency_key="same") for c in clients)
    )
    assert sorted(r.status_code for r in responses) == [200, 201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert ExternalAction.objects.count() == 1


def test_two_reports_at_once_count_once(requester):
    client = _api_client(requester)
    answer = ask(client).json()
    responses = race(*(lambda: report(_api_client(requester), answer) for _ in range(2)))
    assert sorted(r.status_code for r in responses) == [200, 409]


def test_the_decision_callback_is_signed_and_carries_the_answer(
    requester, reviewer, settings, webhook_receiver
):
    url, received = webhook_receiver
    settings.GATE_CALLBACK_SECRET = "callback-secret-" * 2
    answer = ask(_api_client(requester), arguments={"amount": 500}, callback_url=url).json()
    action_request_decide(action_request=request_of(answer), actor=reviewer, decision="reject", comment="no")
    assert external_callback_send(action_id=answer["id"]) == 204
    headers, body = received[-1]
    expected = "sha256=" + hmac.new(settings.GATE_CALLBACK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Tollgate-Signature"] == expected
    sent = json.loads(body)
    assert body == json.dumps(sent, sort_keys=True).encode()  # core.webhooks' one serialisation
    assert (sent["event"], sent["action"]["id"], sent["action"]["decision"]) == (
        "action.decided",
        answer["id"],
        "deny",
    )


def test_the_decision_callback_connects_only_through_the_egress_guard(
    requester, reviewer, settings, webhook_receiver, caplog
):
    url, received = webhook_receiver  # on loopback, which the test settings allow
    settings.GATE_CALLBACK_SECRET = "callback-secret-" * 2
    answer = ask(_api_client(requester), arguments={"amount": 500}, callback_url=url).json()
    action_request_decide(action_request=request_of(answer), actor=reviewer, decision="approve")
    settings.TOOL_EGRESS_ALLOW = []  # loopback refused from now on: at connect time
    assert external_callback_send(action_id=answer["id"]) is None  # refused, so not retried
    assert received == []
    assert "loopback" in caplog.text


def test_a_long_poll_leaves_no_subscription_behind(requester, reviewer, settings):
    import redis

    from approvals.external.signal import decided_channel

    client = _api_client(requester)
    answer = ask(client, arguments={"amount": 500}).json()
    assert poll(client, answer["id"], wait=0.2).json()["decision"] == "pending"  # timed out
    waiter = threading.Thread(target=lambda: poll(_api_client(requester), answer["id"], wait=30))
    waiter.start()
    time.sleep(0.5)
    action_request_decide(action_request=request_of(answer), actor=reviewer, decision="approve")
    waiter.join(timeout=25)
    channel = decided_channel(answer["action_request"])
    assert redis.Redis.from_url(settings.REDIS_URL).pubsub_numsub(channel) == [(channel.encode(), 0)]
