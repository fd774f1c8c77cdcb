"""Sending to Channels groups from synchronous code (Celery workers, views), cheaply.

The configured layer is channels_redis's pub/sub layer, for which sending to a group is one
PUBLISH of the layer's serialized message on the group's Redis channel. The calling thread sends
it itself, through a redis-py client its process's threads share: async_to_sync per push would
start an event loop and open new Redis connections every time (about 5-50 ms a push), and a hop
to one event loop thread that owned the layer's connections cost a worker ~3% of its CPU a step
(the hop, asyncio and the asyncio client; bench/README.md, step_profile, stop 23). Callers send
after commit (transaction.on_commit). Any other layer is sent to through its own group_send.
"""

import logging
import os
import threading
from typing import Any

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from channels_redis.utils import _consistent_hash
from django.conf import settings

logger = logging.getLogger(__name__)

# Long enough for a loaded Redis, short enough that a broken one never stalls a worker's step.
SEND_TIMEOUT_S = 2.0

_clients: dict[tuple[int, str], redis.Redis] = {}
_lock = threading.Lock()


def channel_groups_send(groups: list[str], message: dict[str, Any]) -> None:
    """Send `message` to each group; a failure is logged, never raised."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        if isinstance(layer, RedisPubSubChannelLayer):
            _publish(layer, groups, message)
        else:
            for group in groups:
                async_to_sync(layer.group_send)(group, message)
    except (OSError, RuntimeError, redis.RedisError) as exc:
        # A broken or hung Redis connection (Redis restarted): the client's pool connects
        # again on the next push. Pages reconcile on their next load.
        logger.warning("push to %s failed: %r", groups, exc)


def _publish(layer: RedisPubSubChannelLayer, groups: list[str], message: dict[str, Any]) -> None:
    """What the layer's group_send does (RedisPubSubLoopLayer: the same channel names and
    shard choice, its serializer), with this thread's blocking client."""
    layers: dict[str, dict[str, Any]] = settings.CHANNEL_LAYERS
    config = layers["default"].get("CONFIG", {})
    hosts = config.get("hosts") or ["redis://localhost:6379"]
    prefix = config.get("prefix", "asgi")
    data = layer.serialize(message)
    for group in groups:
        channel = f"{prefix}__group__{group}"
        _client(hosts[_consistent_hash(channel, len(hosts))]).publish(channel, data)


def _client(url: str) -> redis.Redis:
    key = (os.getpid(), url)  # a forked worker process opens its own connections
    client = _clients.get(key)
    if client is None:
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = redis.Redis.from_url(
                    url, socket_timeout=SEND_TIMEOUT_S, socket_connect_timeout=SEND_TIMEOUT_S
                )
    return client
