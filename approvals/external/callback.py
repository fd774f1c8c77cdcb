"""The decision callback: the caller's answer POSTed to its URL, signed like every webhook."""

import logging
import uuid

import httpx
from django.conf import settings

from agents.runtime.waiting import db_connection_release
from agents.tools.egress import EgressRefused
from agents.tools.egress_transport import EgressGuardedTransport
from approvals.external.answer import external_action_answer, external_action_load
from core.webhooks import webhook_post

logger = logging.getLogger(__name__)


def external_callback_send(*, action_id: uuid.UUID) -> int | str | None:
    """POST the answer; the egress guard checks every address it connects to (no redirects).

    The receiver's status; the error when it could not be reached (retried); None when there is
    nothing to send, or the guard refused its address (not retried: it would be refused again).
    """
    action = external_action_load(action_id=action_id)
    if action is None or not action.callback_url or not settings.GATE_CALLBACK_SECRET:
        return None
    event = {"event": "action.decided", "action": external_action_answer(action)}
    # The receiver is the caller's to choose and may take the whole timeout: the worker's other
    # threads (agent runs) need the pooled connection more than this wait does.
    db_connection_release()
    try:
        return webhook_post(
            url=action.callback_url,
            secret=settings.GATE_CALLBACK_SECRET,
            event=event,
            # Never through the environment's proxies: the guard checks the address it connects to.
            transport=EgressGuardedTransport(limits=httpx.Limits(max_connections=1)),
        )
    except EgressRefused as exc:
        logger.warning("decision callback for action %s refused: %s", action_id, exc)
        return None
    except httpx.HTTPError as exc:
        logger.warning("decision callback for action %s failed: %s", action_id, exc)
        return str(exc)
