"""The escalation webhook: a request pending past its SLA, POSTed signed to APPROVALS_WEBHOOK_URL."""

import uuid

import httpx
from django.conf import settings

from approvals.selectors import action_request_payload
from core.webhooks import webhook_post
from notifications.models import Notice
from notifications.notices import NoticeFailed, sender


@sender("webhook.escalation")
def escalation_webhook(notice: Notice) -> None:
    payload = action_request_payload(request_id=uuid.UUID(notice.subject))
    if payload is None:
        raise NoticeFailed("the request no longer exists", retry=False)
    event = {"event": "action_request.escalated", "request": payload}
    try:
        status = webhook_post(
            url=settings.APPROVALS_WEBHOOK_URL, secret=settings.APPROVALS_WEBHOOK_SECRET, event=event
        )
    except httpx.HTTPError as exc:
        raise NoticeFailed(f"escalation webhook: {exc}") from exc
    if status == 429 or status >= 500:
        raise NoticeFailed(f"escalation webhook answered {status}")
    if status >= 400:
        raise NoticeFailed(f"escalation webhook answered {status}", retry=False)
