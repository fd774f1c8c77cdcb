"""A click's ephemeral answer goes to Celery's broker; a broker that is down, or stalled (it
accepts connections and never answers), neither fails the interaction (no 500) nor holds its
answer past Slack's 3 s: the send is waited for a bounded time, and its failure logged. The
interaction is answered by a process of its own, whose broker is the failing one."""

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from console.embedded import free_port
from notifications.slack_interactions import LINK_YOUR_ACCOUNT
from tests.notifications.conftest import BOT_TOKEN, SIGNING_SECRET, click, interaction_body, slack_signed
from tests.support.processes import ROOT, child_env
from tests.support.stalled import StalledServer, stalled_server

pytestmark = pytest.mark.django_db(transaction=True)

_ANSWER = """
import json, sys
import django
django.setup()
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
sent = json.loads(sys.argv[1])
client = Client(raise_request_exception=False)
client.get("/notifications/slack/interactions/")  # a first request loads the URLs and views
response = client.generic(
    "POST",
    "/notifications/slack/interactions/",
    sent["body"].encode(),
    content_type="application/x-www-form-urlencoded",
    headers=sent["headers"],
)
print(json.dumps({"status": response.status_code, "body": response.content.decode()}))
"""


@pytest.fixture(params=["stalled", "down"])
def failing_broker(request) -> Iterator[tuple[str, StalledServer | None]]:
    if request.param == "down":
        yield f"redis://127.0.0.1:{free_port()}/0", None  # nothing listens there
        return
    with stalled_server() as broker:
        yield f"redis://{broker.address}/0", broker


def test_an_ephemeral_answer_the_broker_does_not_take_is_logged_and_slack_is_answered(
    slack, settings, failing_broker
):
    broker_url, stalled = failing_broker
    # Nobody linked U0STRANGER: the answer is an ephemeral "link your account", sent through Celery.
    body = interaction_body(
        click("tollgate_approve", "00000000-0000-0000-0000-000000000001", 1, user="U0STRANGER")
    )
    sent = json.dumps({"body": body.decode(), "headers": slack_signed(body)})
    env = child_env(
        REDIS_URL=broker_url,
        # A send to the stalled broker gives up after 3 x 2 s, past Slack's 3 s.
        BROKER_SOCKET_TIMEOUT_S="2",
        BROKER_CONNECT_TIMEOUT_S="2",
        SLACK_API_URL=settings.SLACK_API_URL,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        LOG_FORMAT="text",
    )

    # The bound only keeps a failure from hanging the suite.
    answered = subprocess.run(
        [sys.executable, "-c", _ANSWER, sent], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    assert answered.returncode == 0, answered.stderr
    answer = json.loads(answered.stdout.strip().splitlines()[-1])
    assert answer["status"] == 200, answered.stderr
    assert json.loads(answer["body"])["text"] == LINK_YOUR_ACCOUNT
    if stalled is not None:
        # Answered while the send still waited on the broker (its 6 s), not after it gave up.
        assert "has not taken it after 1 s; answering without it" in answered.stderr
    # The send's failure is logged (once it ends: the process waits for it before exiting).
    assert "slack ephemeral answer to U0STRANGER failed: the broker did not take it" in answered.stderr
    if stalled is not None:
        assert stalled.accepted  # it was sent to the stalled broker, not elsewhere
    assert slack.named("chat.postEphemeral") == []
