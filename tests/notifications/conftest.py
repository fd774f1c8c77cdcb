import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client

from notifications import tasks
from notifications.models import GroupChannels
from notifications.notices import notice_deliver
from notifications.slack_cards import slack_card_update
from tests.notifications.fakes import FakeState, fake_pagerduty, fake_slack

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-test-bot-token-never-shown"


@pytest.fixture
def slack(settings) -> Iterator[FakeState]:
    with fake_slack() as (url, state):
        settings.SLACK_API_URL = url
        settings.SLACK_BOT_TOKEN = BOT_TOKEN
        settings.SLACK_SIGNING_SECRET = SIGNING_SECRET
        yield state


@pytest.fixture
def pagerduty(settings) -> Iterator[FakeState]:
    with fake_pagerduty() as (url, state):
        settings.PAGERDUTY_EVENTS_URL = url
        yield state


@pytest.fixture
def inline_tasks(monkeypatch) -> None:
    """Celery messages of notifications run where they are published (after commit), once each."""
    monkeypatch.setattr(
        tasks.notice_send, "apply_async", lambda args, countdown=0: notice_deliver(key=args[0])
    )
    # The task bodies without their close_old_connections(): the test's transaction stays open.
    monkeypatch.setattr(
        tasks.slack_card_update,
        "delay",
        lambda request_id: slack_card_update(request_id=uuid.UUID(request_id)),
    )
    monkeypatch.setattr(tasks.slack_ephemeral, "delay", lambda *args: tasks.slack_ephemeral.run(*args))


def group_channels(**fields: Any) -> GroupChannels:
    values = {
        "reviewer_group": "reviewers",
        "slack_channel": "C0REVIEW",
        "events": ["created", "escalated"],
    }
    values.update(fields)
    return GroupChannels.objects.create(**values)


def slack_signed(
    body: bytes, *, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    """Headers as Slack documents them: v0=HMAC-SHA256 of `v0:{timestamp}:{body}`."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


def interaction_body(payload: dict[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def click(action_id: str, request_id: Any, version: int, *, user: str = "U0REVIEW") -> dict[str, Any]:
    """A block_actions payload in the shape Slack sends for a button on a message."""
    return {
        "type": "block_actions",
        "user": {"id": user, "username": "someone", "team_id": "T0TEAM"},
        "api_app_id": "A0APP",
        "trigger_id": "1337.42.abcd",
        "channel": {"id": "C0REVIEW", "name": "reviews"},
        "message": {"ts": "1700000000.000001"},
        "response_url": "https://hooks.slack.com/actions/T0TEAM/1/xyz",
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": f"tollgate:{request_id}",
                "value": f"{request_id}:{version}",
                "action_ts": "1700000001.000001",
            }
        ],
    }


def reject_submission(
    request_id: Any, version: int, reason: str, *, user: str = "U0REVIEW"
) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "user": {"id": user},
        "view": {
            "callback_id": "tollgate_reject",
            "private_metadata": f"{request_id}:{version}",
            "state": {"values": {"reason": {"reason": {"type": "plain_text_input", "value": reason}}}},
        },
    }


def post_interaction(client: Client, payload: dict[str, Any], **signing: Any):
    body = interaction_body(payload)
    return client.generic(
        "POST",
        "/notifications/slack/interactions/",
        body,
        content_type="application/x-www-form-urlencoded",
        headers=slack_signed(body, **signing),
    )
