"""Escalation notices: a JSON webhook signed with HMAC-SHA256, and email."""

import json
import logging
import uuid
from typing import Any

import httpx
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from approvals.selectors import action_request_payload
from core.webhooks import SIGNATURE_HEADER, webhook_signature

logger = logging.getLogger(__name__)


def escalation_notify_later(*, request_id: uuid.UUID) -> None:
    def enqueue() -> None:
        from approvals.tasks import escalation_notify

        escalation_notify.delay(str(request_id))

    transaction.on_commit(enqueue, robust=True)


def escalation_notify(*, request_id: uuid.UUID) -> dict[str, Any]:
    payload = action_request_payload(request_id=request_id)
    if payload is None:
        return {}
    event = {"event": "action_request.escalated", "request": payload}
    sent: dict[str, Any] = {"webhook": None, "email": 0}
    url = settings.APPROVALS_WEBHOOK_URL
    if url:
        body = json.dumps(event, sort_keys=True, default=str).encode()
        headers = {"Content-Type": "application/json"}
        if settings.APPROVALS_WEBHOOK_SECRET:
            headers[SIGNATURE_HEADER] = webhook_signature(secret=settings.APPROVALS_WEBHOOK_SECRET, body=body)
        try:
            response = httpx.post(url, content=body, headers=headers, timeout=10)
            sent["webhook"] = response.status_code
        except httpx.HTTPError as exc:
            logger.warning("escalation webhook for %s failed: %s", request_id, exc)
            sent["webhook"] = str(exc)
    recipients = settings.APPROVALS_ESCALATION_EMAILS
    if recipients:
        sent["email"] = send_mail(
            subject=f"[Tollgate] {payload['tier']} action {payload['tool']} waits past its SLA",
            message=(
                f"Action request {payload['id']} ({payload['tool']} for agent {payload['agent']}) "
                f"has been pending since {payload['created_at']}.\n"
                f"Arguments: {json.dumps(payload['arguments'], sort_keys=True)}\n"
            ),
            from_email=None,
            recipient_list=list(recipients),
        )
    return sent
