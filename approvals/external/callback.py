"""The decision callback: the caller's answer POSTed to its URL, signed like every webhook."""

import json
import logging
import uuid

import httpx
from django.conf import settings

from agents.tools.egress_transport import EgressGuardedTransport
from approvals.external.answer import external_action_answer, external_action_load
from core.webhooks import SIGNATURE_HEADER, webhook_signature

logger = logging.getLogger(__name__)
CALLBACK_TIMEOUT_S = 10.0


def external_callback_send(*, action_id: uuid.UUID) -> int | str | None:
    """POST the answer; the egress guard checks every address it connects to (no redirects)."""
    action = external_action_load(action_id=action_id)
    if action is None or not action.callback_url or not settings.GATE_CALLBACK_SECRET:
        return None
    body = json.dumps({"event": "action.decided", "action": external_action_answer(action)}).encode()
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: webhook_signature(secret=settings.GATE_CALLBACK_SECRET, body=body),
    }
    transport = EgressGuardedTransport(limits=httpx.Limits(max_connections=1))
    try:
        with httpx.Client(transport=transport, timeout=CALLBACK_TIMEOUT_S, follow_redirects=False) as client:
            return client.post(action.callback_url, content=body, headers=headers).status_code
    except httpx.HTTPError as exc:
        logger.warning("decision callback for action %s failed: %s", action_id, exc)
        return str(exc)
