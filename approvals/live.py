"""Live pushes to the reviewers' queue: sent only after the change has committed.

Path (as in tracing.live): service → transaction.on_commit → channel_layer.group_send →
ApprovalQueueConsumer.<event type>. Every reviewer group has a channel group; admins see all.
"""

import asyncio
import concurrent.futures
import logging
import os
import re
import threading
import uuid
from functools import partial
from typing import Any

from channels.layers import get_channel_layer
from django.db import transaction
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

ADMINS_GROUP = "approvals.admins"
# Long enough for a loaded Redis, short enough that a broken one never stalls a worker's step.
SEND_TIMEOUT_S = 2.0
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
    message: dict[str, Any] = {"type": "request.event", "event": event, "request": payload}
    groups = [reviewer_channel_group(payload["reviewer_group"]), ADMINS_GROUP]
    _sender().submit(groups, message)


class _Sender:
    """One event loop per process, in a daemon thread, that sends to the channel layer.

    async_to_sync per push would start a loop and open new Redis connections every time
    (channels_redis keeps its pools per loop), about 50 ms a push; a long-lived loop reuses
    them; the caller waits only for the send itself (about a millisecond).
    """

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="approvals-live", daemon=True).start()

    def submit(self, groups: list[str], message: dict[str, Any]) -> None:
        future = asyncio.run_coroutine_threadsafe(_send_groups(groups, message), self.loop)
        try:
            future.result(timeout=SEND_TIMEOUT_S)
        except (OSError, RuntimeError, concurrent.futures.TimeoutError, RedisError) as exc:
            # A broken or hung Redis connection (Redis restarted): start over with fresh pools
            # for the next push. The queue page reconciles on its next load.
            logger.warning("approval queue push failed: %r", exc)
            future.cancel()
            _sender_reset(self)


_SENDER: _Sender | None = None
_SENDER_LOCK = threading.Lock()


def _sender_reset(broken: _Sender) -> None:
    global _SENDER
    with _SENDER_LOCK:
        if _SENDER is broken:
            _SENDER = None
    broken.loop.call_soon_threadsafe(broken.loop.stop)


def _sender() -> _Sender:
    global _SENDER
    with _SENDER_LOCK:
        # A forked child (a Celery pool process) inherits the object but not the thread.
        if _SENDER is None or _SENDER.pid != os.getpid():
            _SENDER = _Sender()
        return _SENDER


async def _send_groups(groups: list[str], message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for group in groups:
        await layer.group_send(group, message)
