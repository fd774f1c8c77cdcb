"""Live pushes to the reviewers' queue: sent only after the change has committed.

Path (as in tracing.live): service → transaction.on_commit → channel_layer.group_send →
ApprovalQueueConsumer.<event type>. Every reviewer group has a channel group; admins see all.
"""

import re
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

from django.db import transaction

from console.live import channel_groups_send
from core.transactions import after_commit

ADMINS_GROUP = "approvals.admins"
_UNSAFE = re.compile(r"[^a-zA-Z0-9_.-]")


def reviewer_channel_group(name: str) -> str:
    # Channel group names allow only ASCII letters, digits, "-", "_" and "." (under 100 chars).
    return "approvals.g." + _UNSAFE.sub(lambda m: f"_{ord(m.group()):x}_", name)[:80]


# Other apps hear of every request event after commit (notifications: Slack cards, PagerDuty).
RequestListener = Callable[..., None]
_listeners: list[RequestListener] = []


def request_listener_register(listener: RequestListener) -> None:
    """Call `listener(request_id=, event=)` after the commit of every event; registered in ready()."""
    if listener not in _listeners:
        _listeners.append(listener)


def action_request_publish(*, request_id: uuid.UUID, event: str) -> None:
    """Push `event` ("created", "changed", "decided") about a request once this transaction commits."""
    transaction.on_commit(partial(_send, request_id, event), robust=True)
    action_request_announce(request_id=request_id, event=event)


def action_request_announce(*, request_id: uuid.UUID, event: str) -> None:
    """Tell the registered listeners only (no socket push), e.g. "escalated"."""
    for listener in _listeners:
        after_commit(listener, request_id=request_id, event=event)


def _send(request_id: uuid.UUID, event: str) -> None:
    from approvals.selectors import action_request_payload

    payload = action_request_payload(request_id=request_id)
    if payload is None:
        return
    message: dict[str, Any] = {"type": "request.event", "event": event, "request": payload}
    groups = [reviewer_channel_group(payload["reviewer_group"]), ADMINS_GROUP]
    channel_groups_send(groups, message)
