"""Telling people: a JSON webhook signed with HMAC-SHA256, and email; once per transition."""

import logging
from typing import Any

import httpx
from django.conf import settings
from django.core.mail import send_mail

from core import clock
from core.webhooks import webhook_post
from tracing.models import Alert

logger = logging.getLogger(__name__)


def alert_notify(*, alert_id: int, transition: str) -> dict[str, Any]:
    """Send the notice for one transition ("fired" or "resolved") unless it went out already.

    The conditional update claims the notice before sending: a redelivered Celery message or
    a second evaluation never sends it twice, at the price of not retrying a failed send.
    """
    stamp = "fired_notified_at" if transition == "fired" else "resolved_notified_at"
    claimed = Alert.objects.filter(pk=alert_id, **{f"{stamp}__isnull": True}).update(**{stamp: clock.now()})
    if not claimed:
        return {}
    alert = Alert.objects.select_related("rule").get(pk=alert_id)
    event = alert_payload(alert=alert, transition=transition)
    sent: dict[str, Any] = {"webhook": None, "email": 0}
    if settings.ALERTS_WEBHOOK_URL:
        sent["webhook"] = _post(event)
    if settings.ALERTS_EMAILS:
        subject = f"[Tollgate] {transition}: {alert.rule.get_kind_display()}"
        sent["email"] = send_mail(
            subject=subject + (f" ({alert.subject})" if alert.subject else ""),
            message=f"{alert.detail}\n\nFired at {alert.fired_at:%Y-%m-%d %H:%M:%S} UTC.\n",
            from_email=None,
            recipient_list=list(settings.ALERTS_EMAILS),
        )
    return sent


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


def _post(event: dict[str, Any]) -> int | str:
    try:
        return webhook_post(
            url=settings.ALERTS_WEBHOOK_URL, secret=settings.ALERTS_WEBHOOK_SECRET, event=event
        )
    except httpx.HTTPError as error:
        logger.warning("alert webhook failed: %s", error)
        return str(error)
