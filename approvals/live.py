"""Live pushes to the reviewers' queue: sent only after the change has committed.

Path (as in tracing.live): service → transaction.on_commit → channel_layer.group_send →
ApprovalQueueConsumer.<event type>. Every reviewer group has a channel group; admins see all.
"""

import logging
import re
import uuid
from functools import partial
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

ADMINS_GROUP = "approvals.admins"
_UNSAFE = re.compile(r"[^a-zA-Z0-9_.-]")


def reviewer_channel_group(name: str) -> str:
    # Channel group names allow only ASCII letters, digits, "-", "_" and "." (under 100 chars).
    return "approvals.g." + _UNSAFE.sub(lambda m: f"_{ord(m.group()):x}_", name)[:80]


def action_request_publish(*, request_id: uuid.UUID, event: str) -> None:
    """Push `event` ("created", "changed", "decided") about a request once this transaction commits."""
    transaction.on_commit(partial(_send, request_id, event), robust=True)


def _send(request_id: uuid.UUID, event: str) -> None:
    from approvals.selectors import action_request_payload

    payload = action_request_payload(request_id=request_id)
    if payload is None:
        return
    layer = get_channel_layer()
    if layer is None:
        return
    message: dict[str, Any] = {"type": "request.event", "event": event, "request": payload}
    send = async_to_sync(_send_groups)
    send(layer, [reviewer_channel_group(payload["reviewer_group"]), ADMINS_GROUP], message)


async def _send_groups(layer: Any, groups: list[str], message: dict[str, Any]) -> None:
    for group in groups:
        await layer.group_send(group, message)
