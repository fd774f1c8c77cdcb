"""Slack interactions: a verified payload becomes a decision through the console's own service.

The rules (group membership, quorum, no self-approval, version-bound votes) are
approvals.services.action_request_decide's; this module only maps Slack's payload and user
onto it and words the answer.
"""

import concurrent.futures
import contextlib
import json
import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError
from slack_sdk.signature import Clock, SignatureVerifier

from approvals.services import StaleVersion, action_request_decide, action_request_get
from core import clock
from core.errors import ServiceError
from notifications.models import SlackUserLink
from notifications.notices import NoticeFailed
from notifications.slack_cards import APPROVE_ACTION, REJECT_ACTION, REJECT_VIEW, reject_view
from notifications.slack_client import slack_call, slack_user_email

logger = logging.getLogger(__name__)
MAX_BODY_BYTES = 64 * 1024
# Slack shows the clicker an error unless the interaction is answered within 3 s. A send to a
# stalled broker gives up only after (1 + BROKER_PUBLISH_RETRIES) * BROKER_SOCKET_TIMEOUT_S (9 s),
# so the ephemeral answer is handed to the broker on a thread of its own and waited for this long.
EPHEMERAL_HANDOFF_WAIT_S = 1.0
# Sends still waiting on the broker at once; past it an answer is dropped (it is only a hint).
MAX_EPHEMERAL_HANDOFFS = 16
_handoff = ThreadPoolExecutor(max_workers=2, thread_name_prefix="slack-ephemeral")
_handoffs_free = threading.BoundedSemaphore(MAX_EPHEMERAL_HANDOFFS)
PAST = {"approve": "approved", "reject": "rejected"}
LINK_YOUR_ACCOUNT = (
    "Your Slack account is not linked to a Tollgate user. Ask an admin to link it on the "
    "notification channels page, or give your Slack profile the e-mail address of your Tollgate account."
)


class _TollgateClock(Clock):
    """slack-sdk's verifier reads the time through this: core.clock, so tests can move it."""

    def now(self) -> float:
        return clock.now().timestamp()


def slack_signature_valid(*, body: bytes, timestamp: str | None, signature: str | None) -> bool:
    """Slack's v0 scheme: HMAC-SHA256 of `v0:{timestamp}:{body}`, 5-minute window, constant-time compare."""
    if not settings.SLACK_SIGNING_SECRET or not timestamp or not timestamp.isdigit() or len(timestamp) > 12:
        return False
    verifier = SignatureVerifier(settings.SLACK_SIGNING_SECRET, clock=_TollgateClock())
    return verifier.is_valid(body=body, timestamp=timestamp, signature=signature)


@dataclass
class SlackAnswer:
    """What the endpoint answers Slack (`body`) and an ephemeral message for the clicking user."""

    body: dict[str, Any] = field(default_factory=dict)
    ephemeral: str = ""
    channel: str = ""
    user: str = ""


class BadPayload(Exception):
    pass


def slack_ephemeral_send(*, channel: str, user: str, text: str) -> None:
    """Hand an ephemeral answer to Celery, waiting at most EPHEMERAL_HANDOFF_WAIT_S: a broker that
    is down or stalled neither fails nor holds up the interaction's answer. Failures are logged."""
    from notifications.tasks import slack_ephemeral

    if not _handoffs_free.acquire(blocking=False):
        logger.warning("slack ephemeral answer to %s dropped: the broker has not taken earlier ones", user)
        return
    future = _handoff.submit(slack_ephemeral.delay, channel, user, text)
    future.add_done_callback(lambda done: _handoff_done(user, done))
    # A send that fails within the wait is logged by _handoff_done, like one that fails later.
    done, _ = concurrent.futures.wait([future], timeout=EPHEMERAL_HANDOFF_WAIT_S)
    if not done:
        logger.warning(
            "slack ephemeral answer to %s: the broker has not taken it after %g s; answering without it",
            user,
            EPHEMERAL_HANDOFF_WAIT_S,
        )


def _handoff_done(user: str, future: concurrent.futures.Future[Any]) -> None:
    _handoffs_free.release()
    error = future.exception()
    if error is not None:
        logger.warning("slack ephemeral answer to %s failed: the broker did not take it: %r", user, error)


def slack_payload_parse(body: bytes) -> dict[str, Any]:
    """The JSON in the form field `payload`, as Slack sends interactions."""
    try:
        form = parse_qs(body.decode("utf-8"), max_num_fields=5, strict_parsing=True)
        payload = json.loads(form["payload"][0])
    except (UnicodeDecodeError, ValueError, KeyError, IndexError) as exc:
        raise BadPayload("expected a form with a JSON `payload`") from exc
    if not isinstance(payload, dict):
        raise BadPayload("the payload must be a JSON object")
    return payload


def slack_user_resolve(*, slack_user_id: str) -> User | None:
    """The Tollgate user a Slack user acts as: an admin's link, else one found by confirmed e-mail."""
    link = SlackUserLink.objects.select_related("user").filter(slack_user_id=slack_user_id).first()
    if link is not None:
        return link.user if link.user.is_active else None
    email = slack_user_email(slack_user_id=slack_user_id)
    if email is None:
        return None
    matches = list(User.objects.filter(email__iexact=email, is_active=True)[:2])
    if len(matches) != 1:
        return None  # nobody, or ambiguous: an admin must link it
    with contextlib.suppress(IntegrityError):  # a second click linked it meanwhile
        SlackUserLink.objects.create(
            slack_user_id=slack_user_id, user=matches[0], linked_by="email", created_at=clock.now()
        )
    return matches[0]


def _target(value: str) -> tuple[uuid.UUID, int]:
    request_id, _, version = value.partition(":")
    try:
        return uuid.UUID(request_id), int(version)
    except ValueError as exc:
        raise BadPayload("unknown button") from exc


def _text(value: Any, limit: int = 100) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def slack_interaction_handle(payload: dict[str, Any]) -> SlackAnswer:
    """One verified interaction: a button click (block_actions) or the reject dialog's submission."""
    user = _object(payload.get("user"))
    slack_user_id = _text(user.get("id"), 40)
    channel = _object(payload.get("channel"))
    answer = SlackAnswer(channel=_text(channel.get("id"), 80), user=slack_user_id)
    kind = payload.get("type")
    if kind == "block_actions":
        actions = payload.get("actions")
        if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
            raise BadPayload("no action")
        action = actions[0]
        if action.get("action_id") not in (APPROVE_ACTION, REJECT_ACTION):
            return answer  # "Open in Tollgate" is a link; Slack still reports the click
        request_id, version = _target(_text(action.get("value")))
        actor = slack_user_resolve(slack_user_id=slack_user_id)
        if actor is None:
            answer.ephemeral = LINK_YOUR_ACCOUNT
            return answer
        if action["action_id"] == REJECT_ACTION:
            view = reject_view(request_id=str(request_id), version=version)
            try:
                slack_call("views_open", trigger_id=_text(payload.get("trigger_id"), 200), view=view)
            except NoticeFailed as exc:
                logger.warning("slack views.open failed: %s", exc)
                answer.ephemeral = "Could not open the reason dialog; reject from Tollgate instead."
            return answer
        # Success needs no answer of its own: the card is redrawn with who approved.
        answer.ephemeral = _decide(actor, request_id, "approve", version, comment="approved from Slack")
        return answer
    if kind == "view_submission":
        view = _object(payload.get("view"))
        if view.get("callback_id") != REJECT_VIEW:
            raise BadPayload("unknown view")
        request_id, version = _target(_text(view.get("private_metadata")))
        actor = slack_user_resolve(slack_user_id=slack_user_id)
        if actor is None:
            answer.body = {"response_action": "errors", "errors": {"reason": LINK_YOUR_ACCOUNT}}
            return answer
        values = _object(_object(view.get("state")).get("values"))
        comment = _text(_object(_object(values.get("reason")).get("reason")).get("value"), 2000)
        refusal = _decide(actor, request_id, "reject", version, comment=comment)
        answer.body = (
            {"response_action": "errors", "errors": {"reason": refusal}}
            if refusal
            else {"response_action": "clear"}
        )
        return answer
    raise BadPayload(f"unsupported interaction {kind!r}")


def _decide(actor: User, request_id: uuid.UUID, decision: str, version: int, *, comment: str) -> str:
    """Decide through the console's service; the refusal in words, or "" when it was taken."""
    done = PAST[decision]
    try:
        request = action_request_get(request_id=request_id)
        action_request_decide(
            action_request=request, actor=actor, decision=decision, comment=comment, version=version
        )
    except StaleVersion as exc:
        current = exc.details["current"]["version"]
        return (
            f"Not {done}: the arguments changed since this card was drawn (now version {current}). "
            "The card shows them now; decide again."
        )
    except ServiceError as exc:
        return f"Not {done}: {exc.message}"
    return ""
