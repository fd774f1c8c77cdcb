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
        target = _published_here(layer)
        if target is not None:
            hosts, prefix = target
            data = layer.serialize(message)
            for group in groups:
                channel, host = group_channel_host(hosts, prefix, group)
                _client(host).publish(channel, data)
        else:
            for group in groups:
                async_to_sync(layer.group_send)(group, message)
    except (OSError, RuntimeError, redis.RedisError) as exc:
        # A broken or hung Redis connection (Redis restarted): the client's pool connects
        # again on the next push. Pages reconcile on their next load.
        logger.warning("push to %s failed: %r", groups, exc)


def group_channel_host(hosts: list[str], prefix: str, group: str) -> tuple[str, str]:
    """The Redis channel the pub/sub layer publishes `group`'s messages on, and the host it
    publishes them to: what RedisPubSubLoopLayer's group_send picks (its channel name, its
    shard by consistent hash; tests/console/test_live.py holds the two together)."""
    channel = f"{prefix}__group__{group}"
    return channel, hosts[_consistent_hash(channel, len(hosts))]


def _published_here(layer: Any) -> tuple[list[str], str] | None:
    """The pub/sub layer's hosts and prefix, read once a push, if all its hosts are URLs
    (published to here); None for any other layer, or hosts given as dicts or tuples (sent
    through the layer's own group_send)."""
    if not isinstance(layer, RedisPubSubChannelLayer):
        return None
    layers: dict[str, dict[str, Any]] = settings.CHANNEL_LAYERS
    config = layers["default"].get("CONFIG", {})
    hosts = config.get("hosts") or ["redis://localhost:6379"]
    if not all(isinstance(host, str) for host in hosts):
        return None
    return list(hosts), config.get("prefix", "asgi")


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
