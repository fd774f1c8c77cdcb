"""Sending to Channels groups from synchronous code (Celery workers, views), cheaply.

async_to_sync per push would start an event loop and open new Redis connections every time
(channels_redis keeps its pools per loop): about 5-50 ms a push. Instead each process keeps
one event loop in a daemon thread that owns the layer's connections; the caller waits only
for the send itself (about a millisecond). Callers send after commit (transaction.on_commit).
"""

import asyncio
import concurrent.futures
import logging
import os
import threading
from typing import Any

from channels.layers import get_channel_layer
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# Long enough for a loaded Redis, short enough that a broken one never stalls a worker's step.
SEND_TIMEOUT_S = 2.0


class _Sender:
    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="channels-sender", daemon=True).start()

    def submit(self, groups: list[str], message: dict[str, Any]) -> None:
        future = asyncio.run_coroutine_threadsafe(_send_groups(groups, message), self.loop)
        try:
            future.result(timeout=SEND_TIMEOUT_S)
        except (OSError, RuntimeError, concurrent.futures.TimeoutError, RedisError) as exc:
            # A broken or hung Redis connection (Redis restarted): start over with fresh pools
            # for the next push. Pages reconcile on their next load.
            logger.warning("push to %s failed: %r", groups, exc)
            future.cancel()
            _sender_reset(self)


_SENDER: _Sender | None = None
_SENDER_LOCK = threading.Lock()


def channel_groups_send(groups: list[str], message: dict[str, Any]) -> None:
    """Send `message` to each group; a failure is logged, never raised."""
    _sender().submit(groups, message)


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
