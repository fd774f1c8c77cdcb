"""Pushes from synchronous code (console/live.py): the calling thread publishes what the
pub/sub layer's group_send would, and a broken Redis is logged, never raised."""

import asyncio
import logging
import threading
from urllib.parse import urlsplit

from channels.layers import get_channel_layer

from console.live import channel_groups_send


def _heard(group: str, message: dict) -> dict:
    """Subscribe a channel of the configured layer to `group`, push `message` from another
    thread (as a worker does) and return what the channel received."""

    async def scenario() -> dict:
        layer = get_channel_layer()
        assert layer is not None
        channel = await layer.new_channel()
        await layer.group_add(group, channel)
        try:
            sender = threading.Thread(target=channel_groups_send, args=([group, "nobody.listens"], message))
            sender.start()
            received = await asyncio.wait_for(layer.receive(channel), timeout=5)
            sender.join()
            return received
        finally:
            await layer.group_discard(group, channel)
            await layer.flush()

    result: list[dict] = []
    # A loop of its own thread: the browser tests leave an event loop running in this one.
    thread = threading.Thread(target=lambda: result.append(asyncio.run(scenario())))
    thread.start()
    thread.join(10)
    return result[0]


def test_a_push_reaches_a_socket_subscribed_through_the_pub_sub_layer():
    message = {"type": "spans.added", "step": 3, "finished": False}
    assert _heard("trace.live-test", message) == message


def test_another_layer_is_sent_to_through_its_own_group_send(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    message = {"type": "request.event", "event": "changed"}
    assert _heard("approvals.admins", message) == message


def test_a_push_to_an_unreachable_redis_is_logged_not_raised(settings, caplog):
    config = {**settings.CHANNEL_LAYERS["default"]["CONFIG"], "hosts": ["redis://127.0.0.1:1/0"]}
    settings.CHANNEL_LAYERS = {"default": {**settings.CHANNEL_LAYERS["default"], "CONFIG": config}}
    with caplog.at_level(logging.WARNING, logger="console.live"):
        channel_groups_send(["trace.nowhere"], {"type": "spans.added"})
    assert "push to ['trace.nowhere'] failed" in caplog.text


def test_the_channel_and_host_of_a_group_are_the_pub_sub_layers_own():
    # Two hosts: the shard choice is the layer's (a change in channels_redis would show here).
    from channels_redis.pubsub import RedisPubSubLoopLayer

    from console.live import group_channel_host

    hosts = ["redis://127.0.0.1:1/0", "redis://127.0.0.1:2/0"]
    layer = RedisPubSubLoopLayer(hosts=hosts, prefix="tg-x")
    for group in ["approvals.admins", "trace.1", "trace.2", "trace.3", "requests.a", "requests.b"]:
        channel, host = group_channel_host(hosts, "tg-x", group)
        assert channel == layer._get_group_channel_name(group)
        assert layer._shards.index(layer._get_shard(channel)) == hosts.index(host)


def test_hosts_given_as_dicts_are_sent_to_through_the_layers_own_group_send(settings):
    config = settings.CHANNEL_LAYERS["default"]["CONFIG"]
    url = urlsplit(config["hosts"][0])
    hosts = [{"address": f"redis://{url.hostname}:{url.port}{url.path}"}]
    settings.CHANNEL_LAYERS = {
        "default": {**settings.CHANNEL_LAYERS["default"], "CONFIG": {**config, "hosts": hosts}}
    }
    message = {"type": "spans.added", "step": 1, "finished": True}
    assert _heard("trace.dict-hosts", message) == message
