"""Signed JSON webhooks: a request past its SLA (APPROVALS_WEBHOOK_URL) and an alert's
transitions (ALERTS_WEBHOOK_URL), each signed and posted by core.webhooks."""

import uuid
from typing import Any

import httpx
from django.conf import settings

from approvals.selectors import action_request_payload
from core.webhooks import webhook_post
from notifications.models import Notice
from notifications.notices import NoticeFailed, notice_check_status, sender
from tracing.models import Alert


def _post(*, url: str, secret: str, event: dict[str, Any], what: str) -> None:
    try:
        status = webhook_post(url=url, secret=secret, event=event)
    except httpx.HTTPError as exc:
        raise NoticeFailed(f"{what}: {exc}") from exc
    notice_check_status(status, what=what)


@sender("webhook.escalation")
def escalation_webhook(notice: Notice) -> None:
    payload = action_request_payload(request_id=uuid.UUID(notice.subject))
    if payload is None:
        raise NoticeFailed("the request no longer exists", retry=False)
    event = {"event": "action_request.escalated", "request": payload}
    _post(
        url=settings.APPROVALS_WEBHOOK_URL,
        secret=settings.APPROVALS_WEBHOOK_SECRET,
        event=event,
        what="escalation webhook",
    )


def alert_transition(notice: Notice) -> tuple[Alert, str]:
    """The alert and the transition a notice keyed `<kind>:<alert id>:<transition>` is about."""
    transition = notice.key.rsplit(":", 1)[1]
    return Alert.objects.select_related("rule").get(pk=int(notice.subject)), transition


def alert_payload(*, alert: Alert, transition: str) -> dict[str, Any]:
    return {
        "event": f"alert.{transition}",
        "alert": {
            "id": alert.pk,
            "rule": alert.rule.kind,
            "subject": alert.subject,
            "state": alert.state,
            "value": str(alert.value),
            "threshold": str(alert.rule.threshold),
            "detail": alert.detail,
            "fired_at": alert.fired_at.isoformat(),
            "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
        },
    }


@sender("webhook.alert")
def alert_webhook(notice: Notice) -> None:
    alert, transition = alert_transition(notice)
    event = alert_payload(alert=alert, transition=transition)
    _post(
        url=settings.ALERTS_WEBHOOK_URL,
        secret=settings.ALERTS_WEBHOOK_SECRET,
        event=event,
        what="alert webhook",
    )
