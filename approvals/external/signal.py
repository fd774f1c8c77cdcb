"""The decision's signal to waiting long-polls: one Redis pub/sub channel per action request.

A waiting request subscribes on a Redis connection of its own (pub/sub needs one), so the
subscription ends with the request however it ends; the signal carries no data, the waiter
reads the decision from PostgreSQL.
"""

import asyncio
import logging
import os
import uuid
from collections.abc import Awaitable, Callable

import redis
import redis.asyncio
from django.conf import settings

logger = logging.getLogger(__name__)
_clients: dict[int, redis.Redis] = {}


def decided_channel(request_id: uuid.UUID | str) -> str:
    # The instance name keeps two stacks on one Redis server apart (pub/sub ignores the db).
    return f"{settings.TOLLGATE_INSTANCE}:gate:decided:{request_id}"


def decision_signal(*, request_id: uuid.UUID) -> None:
    """Wake the long-polls waiting on this request; a failure is logged (they time out)."""
    client = _clients.get(os.getpid())
    if client is None:
        client = _clients[os.getpid()] = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)
    try:
        client.publish(decided_channel(request_id), b"1")
    except redis.RedisError as exc:
        logger.warning("decision signal for %s failed: %r", request_id, exc)


async def decision_wait(
    *, request_id: uuid.UUID | str, timeout: float, decided: Callable[[], Awaitable[bool]]
) -> None:
    """Return once `decided()` says so or the signal comes, or after `timeout` seconds.

    `decided()` is asked after subscribing: a signal sent before that is never missed.
    """
    client = redis.asyncio.Redis.from_url(settings.REDIS_URL)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    try:
        await pubsub.subscribe(decided_channel(request_id))
        if await decided():
            return
        loop_time = asyncio.get_running_loop().time
        deadline = loop_time() + timeout
        while (remaining := deadline - loop_time()) > 0:
            if await pubsub.get_message(timeout=remaining) is not None:
                return
    finally:
        await pubsub.aclose()
        await client.aclose()
