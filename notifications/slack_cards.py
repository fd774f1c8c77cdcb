"""The Block Kit card announcing a request: rendered from the request's current state.

Everything from models and tools goes into `plain_text` objects, which Slack never parses, and
is truncated. Buttons carry `<request id>:<version>`, so a click decides the version the card
showed; after an edit the card is re-rendered and clicks on the old buttons are stale (409).
"""

import json
import uuid
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from approvals.models import ActionRequest
from core import clock
from core.tiers import RiskTier
from notifications.models import GroupChannels, Notice, SlackCard
from notifications.notices import NoticeFailed, sender
from notifications.slack_client import slack_call

APPROVE_ACTION = "tollgate_approve"
REJECT_ACTION = "tollgate_reject"
OPEN_ACTION = "tollgate_open"
REJECT_VIEW = "tollgate_reject"
MAX_ARGUMENTS_CHARS = 1500
MAX_REASONING_CHARS = 1000
# A channel and one DM per member: bounded by MAX_DM_MEMBERS in dispatch.
MAX_CARDS = 60
Status = ActionRequest.Status
# After approval the request runs: the card says who approved, then how the run went.
APPROVED_THEN: dict[str, str] = {
    Status.EXECUTING: "approved (running)",
    Status.EXECUTED: "approved (executed)",
    Status.FAILED: "approved (the call failed)",
}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text or " ", "emoji": False}


def _when(moment: Any, label: str) -> str:
    stamp = int(moment.timestamp())
    return f"{label} <!date^{stamp}^{{date_short_pretty}} {{time}}|{moment:%Y-%m-%d %H:%M} UTC>"


def request_url(request_id: uuid.UUID) -> str:
    return f"{settings.TOLLGATE_URL}/approvals/?request={request_id}"


def card_blocks(request: ActionRequest) -> tuple[str, list[dict[str, Any]]]:
    """The fallback text and the blocks of `request`'s card as it stands now."""
    title = f"{request.tier} action {request.tool_name} for agent {request.agent_name}"
    arguments = _clip(json.dumps(request.arguments, sort_keys=True, indent=1), MAX_ARGUMENTS_CHARS)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(_clip(title, 150))},
        {
            "type": "section",
            "fields": [
                _plain(f"Tool: {request.tool_name}"),
                _plain(f"Tier: {request.tier}"),
                _plain(f"Agent: {request.agent_name}"),
                _plain(f"Version: {request.version}"),
            ],
        },
        {"type": "section", "text": _plain("Arguments:\n" + arguments)},
    ]
    if request.reasoning:
        blocks.append(
            {
                "type": "section",
                "text": _plain("Model's reasoning:\n" + _clip(request.reasoning, MAX_REASONING_CHARS)),
            }
        )
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _state_line(request)}]})
    blocks.append({"type": "actions", "block_id": f"tollgate:{request.id}", "elements": _buttons(request)})
    return f"Tollgate: {title} ({request.status})", blocks


def _state_line(request: ActionRequest) -> str:
    if request.status == Status.PENDING:
        votes = request.votes.filter(version=request.version).count()
        parts = [f"Pending, {votes} of {request.approvals_required} approvals"]
        if request.autosend_at:
            parts.append(_when(request.autosend_at, "runs by itself"))
        if request.expires_at:
            parts.append(_when(request.expires_at, "expires"))
        if request.escalated_at:
            parts.append("past its SLA")
        return ", ".join(parts)
    who = request.decided_by.get_username() if request.decided_by else "Tollgate"
    decided = APPROVED_THEN.get(request.status, request.status)
    line = f"{decided.capitalize()} by {_escape(who)}"
    if request.decided_at:
        line += " " + _when(request.decided_at, "at")
    if request.decision_comment:
        line += ": " + _escape(_clip(request.decision_comment, 300))
    return line


def _escape(text: str) -> str:
    # mrkdwn's three control characters (Slack's "escaping text" rules).
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _buttons(request: ActionRequest) -> list[dict[str, Any]]:
    value = f"{request.id}:{request.version}"
    open_button = {
        "type": "button",
        "action_id": OPEN_ACTION,
        "text": _plain("Open in Tollgate"),
        "url": request_url(request.id),
    }
    if request.status != Status.PENDING or request.tier == RiskTier.CRITICAL:
        return [open_button]
    return [
        {
            "type": "button",
            "action_id": APPROVE_ACTION,
            "style": "primary",
            "text": _plain("Approve"),
            "value": value,
        },
        {
            "type": "button",
            "action_id": REJECT_ACTION,
            "style": "danger",
            "text": _plain("Reject"),
            "value": value,
        },
        open_button,
    ]


def reject_view(*, request_id: str, version: int) -> dict[str, Any]:
    """The modal asking for a rejection's reason; its metadata names the version the card showed."""
    return {
        "type": "modal",
        "callback_id": REJECT_VIEW,
        "private_metadata": f"{request_id}:{version}",
        "title": _plain("Reject action"),
        "submit": _plain("Reject"),
        "close": _plain("Cancel"),
        "blocks": [
            {
                "type": "input",
                "block_id": "reason",
                "label": _plain("Reason (the agent reads it)"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": "reason",
                    "multiline": True,
                    "max_length": 2000,
                },
            }
        ],
    }


@sender("slack.card")
def slack_card_post(notice: Notice) -> None:
    """Post the card to the group's channel."""
    request = ActionRequest.objects.select_related("decided_by").get(pk=notice.subject)
    channels = GroupChannels.objects.filter(reviewer_group=request.reviewer_group).first()
    if channels is None or not channels.slack_channel:
        raise NoticeFailed(f"no Slack channel for {request.reviewer_group!r}", retry=False)
    _post(request, channel=channels.slack_channel)


@sender("slack.dm")
def slack_dm_post(notice: Notice) -> None:
    """Post the card in a direct message to one member (the key ends with their Slack user id)."""
    request = ActionRequest.objects.select_related("decided_by").get(pk=notice.subject)
    _post(request, channel=notice.key.rsplit(":", 1)[1])


def _post(request: ActionRequest, *, channel: str) -> None:
    """Post the card and remember where, to update it in place later."""
    text, blocks = card_blocks(request)
    answer = slack_call("chat_postMessage", channel=channel, text=text, blocks=blocks)
    try:
        with transaction.atomic():
            SlackCard.objects.create(
                request=request,
                channel=str(answer.get("channel") or channel),
                ts=str(answer["ts"]),
                posted_at=clock.now(),
            )
    except (KeyError, IntegrityError) as exc:
        raise NoticeFailed(
            f"slack chat.postMessage answered without a new message: {exc}", retry=False
        ) from exc
    # A decision between rendering and recording the card found no card to update: catch up.
    latest = ActionRequest.objects.filter(pk=request.pk).values_list("status", "version").first()
    if latest != (request.status, request.version):
        slack_card_update(request_id=request.pk)


def slack_card_update(*, request_id: uuid.UUID) -> int:
    """Re-render every posted card of a request in place (chat.update is idempotent); how many.

    One card failing does not stop the others; the first failure is raised after them, so the
    task retries (redrawing the rest again is harmless)."""
    cards = list(SlackCard.objects.filter(request_id=request_id).order_by("pk")[:MAX_CARDS])
    if not cards:
        return 0
    request = ActionRequest.objects.select_related("decided_by").get(pk=request_id)
    text, blocks = card_blocks(request)
    failures = []
    for card in cards:
        try:
            slack_call("chat_update", channel=card.channel, ts=card.ts, text=text, blocks=blocks)
        except NoticeFailed as exc:
            failures.append(exc)
    if failures:
        raise failures[0]
    return len(cards)
