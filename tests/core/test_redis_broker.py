"""The broker transport's burst consumer against the real Redis: what it takes, and that what it
takes is recorded, acknowledged and restored exactly as kombu's own consumer does."""

import contextlib
import uuid
from collections.abc import Iterator

import pytest
import redis
from django.conf import settings
from kombu import Connection, Consumer, Message, Producer, Queue

from core.redis_broker import BURST_MAX, Transport


@pytest.fixture
def broker() -> Iterator[tuple[Connection, Queue, redis.Redis, str]]:
    prefix = f"test-burst-{uuid.uuid4().hex[:8]}:"
    connection = Connection(
        settings.CELERY_BROKER_URL,
        transport="core.redis_broker:Transport",
        transport_options={"global_keyprefix": prefix},
    )
    queue = Queue(f"runs-{uuid.uuid4().hex[:8]}")
    client = redis.Redis.from_url(settings.REDIS_URL)
    yield connection, queue, client, prefix
    connection.release()
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)


def _publish(connection: Connection, queue: Queue, count: int) -> None:
    with Producer(connection.channel()) as producer:
        for n in range(count):
            producer.publish({"n": n}, routing_key=queue.name, declare=[queue])


def _taking(connection: Connection, queue: Queue, prefetch: int) -> tuple[Consumer, list[Message]]:
    taken: list[Message] = []
    consumer = Consumer(
        connection.channel(),
        queues=[queue],
        callbacks=[lambda _body, message: taken.append(message)],
        prefetch_count=prefetch,
    )
    consumer.consume()
    return consumer, taken


def test_the_transport_is_celerys():
    assert settings.CELERY_BROKER_TRANSPORT == "core.redis_broker:Transport"
    assert Connection(settings.CELERY_BROKER_URL, transport=settings.CELERY_BROKER_TRANSPORT).transport_cls
    assert issubclass(Transport, Connection(settings.CELERY_BROKER_URL).transport.__class__)


def test_one_read_takes_what_waits_up_to_the_prefetch_window_in_order(broker):
    connection, queue, client, prefix = broker
    _publish(connection, queue, 30)
    consumer, taken = _taking(connection, queue, prefetch=10)

    connection.drain_events(timeout=2)  # one BRPOP answered, then the burst

    assert [message.payload["n"] for message in taken] == list(range(10))
    assert client.llen(prefix + queue.name) == 20  # the rest waits for this or another consumer
    # Every message taken is recorded unacknowledged, as kombu records the BRPOP's own.
    assert client.hlen(prefix + "unacked") == 10
    assert client.zcard(prefix + "unacked_index") == 10
    consumer.cancel()


def test_taken_messages_are_acknowledged_as_kombus_own(broker):
    connection, queue, client, prefix = broker
    _publish(connection, queue, 5)
    consumer, taken = _taking(connection, queue, prefetch=10)
    connection.drain_events(timeout=2)
    assert len(taken) == 5

    for message in taken:
        message.ack()

    assert client.hlen(prefix + "unacked") == 0
    assert client.zcard(prefix + "unacked_index") == 0
    consumer.cancel()


def test_a_burst_taken_but_not_acknowledged_goes_back_to_the_queue_when_the_consumer_closes(broker):
    connection, queue, client, prefix = broker
    _publish(connection, queue, 8)
    consumer, taken = _taking(connection, queue, prefetch=10)
    connection.drain_events(timeout=2)
    assert len(taken) == 8
    assert client.llen(prefix + queue.name) == 0

    consumer.channel.close()  # a worker's warm shutdown: kombu restores what it holds

    assert client.llen(prefix + queue.name) == 8
    assert client.hlen(prefix + "unacked") == 0
    # Restored whole: a new consumer gets every message, payloads intact.
    again, retaken = _taking(connection, queue, prefetch=10)
    connection.drain_events(timeout=2)
    assert sorted(message.payload["n"] for message in retaken) == list(range(8))
    again.cancel()


def test_a_full_window_takes_nothing_more(broker):
    connection, queue, client, prefix = broker
    _publish(connection, queue, 3)
    consumer, taken = _taking(connection, queue, prefetch=1)

    connection.drain_events(timeout=2)

    assert len(taken) == 1
    assert client.llen(prefix + queue.name) == 2
    consumer.cancel()


def test_a_closing_consumer_takes_no_burst(broker):
    connection, queue, client, prefix = broker
    _publish(connection, queue, 6)
    consumer, taken = _taking(connection, queue, prefetch=10)
    channel = consumer.channel
    channel._closing = True  # what kombu sets first in close(), before it reads the last BRPOP

    connection.drain_events(timeout=2)

    assert len(taken) == 1  # the BRPOP's own, and nothing more
    assert client.llen(prefix + queue.name) == 5
    channel._closing = False
    consumer.cancel()


def test_a_burst_takes_at_most_burst_max_whatever_the_window(broker):
    connection, queue, client, prefix = broker
    _publish(connection, queue, BURST_MAX + 20)
    consumer, taken = _taking(connection, queue, prefetch=100)

    connection.drain_events(timeout=2)

    assert len(taken) == 1 + BURST_MAX  # the rest stays for this process's next read, or another's
    assert client.llen(prefix + queue.name) == 20 - 1
    consumer.cancel()


def test_a_queue_consumed_without_acknowledgements_takes_no_burst(broker):
    connection, queue, client, prefix = broker
    _publish(connection, queue, 5)
    taken: list[Message] = []
    consumer = Consumer(
        connection.channel(), queues=[queue], callbacks=[lambda _b, m: taken.append(m)], no_ack=True
    )
    consumer.consume()

    connection.drain_events(timeout=2)

    assert len(taken) == 1
    assert client.hlen(prefix + "unacked") == 0  # nothing recorded that no one would clear
    assert client.llen(prefix + queue.name) == 4
    consumer.cancel()


def _unaccounted(client: redis.Redis, prefix: str, queue: Queue, published: int) -> int:
    """Messages neither waiting in the queue nor recorded unacknowledged: gone from the broker
    (kombu's restore after the visibility timeout can bring back only what is recorded)."""
    return published - client.llen(prefix + queue.name) - client.hlen(prefix + "unacked")


@pytest.mark.parametrize("error", [redis.ConnectionError, redis.TimeoutError])
def test_a_burst_whose_reply_is_lost_leaves_every_message_queued_or_recorded(broker, monkeypatch, error):
    """The connection drops (or times out) after Redis ran the burst's command but before its
    answer arrived: whatever Redis took off the queue must be recorded unacknowledged, so that
    kombu restores it after the visibility timeout, not lost (any task, not only runs)."""
    connection, queue, client, prefix = broker
    _publish(connection, queue, 30)
    armed = []
    read_response = redis.connection.AbstractConnection.read_response

    def replies_lost(self, *args, **kwargs):
        answer = read_response(self, *args, **kwargs)  # Redis ran the command
        if armed:
            armed.clear()
            raise error("connection lost before the answer was read")
        return answer

    monkeypatch.setattr(redis.connection.AbstractConnection, "read_response", replies_lost)
    taken: list[Message] = []

    def on_message(_body, message):
        taken.append(message)
        armed.append(True)  # after the BRPOP's own message: the burst's answer is lost

    consumer = Consumer(connection.channel(), queues=[queue], callbacks=[on_message], prefetch_count=10)
    consumer.consume()

    with contextlib.suppress(redis.ConnectionError, redis.TimeoutError):
        connection.drain_events(timeout=2)  # the consumer reconnects: what matters is the messages

    monkeypatch.undo()
    assert len(taken) == 1
    assert _unaccounted(client, prefix, queue, 30) == 0
    # Recorded as kombu records its own: its restore after the visibility timeout brings them back.
    consumer.channel.visibility_timeout = 0
    consumer.channel.qos.restore_visible(num=100)
    assert client.llen(prefix + queue.name) == 30
    consumer.cancel()


def test_a_message_that_is_not_kombus_stops_a_burst_and_loses_none_before_or_after_it(broker):
    connection, queue, client, prefix = broker
    _publish(connection, queue, 3)
    client.lpush(prefix + queue.name, b"not json")  # behind the first three
    _publish(connection, queue, 3)
    consumer, taken = _taking(connection, queue, prefetch=10)

    connection.drain_events(timeout=2)  # the BRPOP's, and a burst up to the stranger

    assert [message.payload["n"] for message in taken] == [0, 1, 2]
    assert client.hlen(prefix + "unacked") == 3
    assert client.llen(prefix + queue.name) == 4  # the stranger first, for BRPOP to deal with
    assert _unaccounted(client, prefix, queue, 7) == 0
    consumer.cancel()


def test_a_burst_message_whose_delivery_failed_is_recorded_again_when_redelivered(broker):
    """A delivery that raises leaves the burst's later messages recorded and undelivered; when
    kombu restores one and it comes back by BRPOP, it is recorded unacknowledged again (not
    taken for a burst message recorded already)."""
    connection, queue, client, prefix = broker
    _publish(connection, queue, 3)
    seen: list[Message] = []

    def on_message(_body, message):
        seen.append(message)
        if len(seen) == 2:
            raise RuntimeError("a consumer callback failed")

    consumer = Consumer(connection.channel(), queues=[queue], callbacks=[on_message], prefetch_count=10)
    consumer.consume()
    with pytest.raises(RuntimeError):
        connection.drain_events(timeout=2)
    for message in seen:
        message.ack()
    channel = consumer.channel
    assert client.hlen(prefix + "unacked") == 1  # the third: taken, recorded, never delivered
    channel.visibility_timeout = 0
    channel.qos.restore_visible(num=10)
    assert client.llen(prefix + queue.name) == 1

    connection.drain_events(timeout=2)  # the same channel takes it again, by BRPOP

    assert [message.payload["n"] for message in seen] == [0, 1, 2]
    assert client.hlen(prefix + "unacked") == 1  # recorded: a worker dying now would not lose it
    consumer.cancel()


def test_a_burst_takes_only_its_own_deployments_messages_on_one_redis(broker):
    """Two deployments on one Redis, one queue name: one's consumer takes none of the other's
    messages (its keys are prefixed with its own instance; the other's have none)."""
    connection, queue, client, prefix = broker
    other = Connection(settings.CELERY_BROKER_URL, transport="core.redis_broker:Transport")
    try:
        _publish(other, queue, 5)  # unprefixed: what the burst would reach without the prefix
        _publish(connection, queue, 5)
        consumer, taken = _taking(connection, queue, prefetch=10)

        connection.drain_events(timeout=2)

        assert len(taken) == 5
        assert client.llen(queue.name) == 5  # the other deployment's, untouched
        assert client.hlen(prefix + "unacked") == 5
        consumer.cancel()
    finally:
        client.delete(queue.name)
        # Were the burst to reach past its prefix, it would record there too: leave nothing behind.
        for tag, entry in client.hgetall("unacked").items():
            if queue.name.encode() in entry:
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)
        other.release()


def test_a_broker_that_refuses_scripts_gets_no_bursts_and_keeps_every_message(broker, monkeypatch):
    # A managed Redis may deny EVAL (an ACL without @scripting): kombu's consumer alone, then.
    connection, queue, client, prefix = broker
    _publish(connection, queue, 6)
    execute_command = redis.Redis.execute_command

    def no_scripts(self, *args, **kwargs):
        if args and args[0] == "EVAL":
            raise redis.exceptions.NoPermissionError("this user has no permissions to run 'eval'")
        return execute_command(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "execute_command", no_scripts)
    consumer, taken = _taking(connection, queue, prefetch=10)

    connection.drain_events(timeout=2)
    connection.drain_events(timeout=2)

    assert len(taken) == 2  # one BRPOP each, no burst after either
    assert consumer.channel._burst_off
    assert client.llen(prefix + queue.name) == 4
    assert client.hlen(prefix + "unacked") == 2
    consumer.cancel()


def test_a_passing_refusal_of_the_script_skips_one_burst_and_keeps_bursts_on(broker, monkeypatch):
    # READONLY after a failover, OOM, BUSY: the next burst may well run.
    connection, queue, client, prefix = broker
    _publish(connection, queue, 6)
    execute_command = redis.Redis.execute_command
    refusals: list[int] = []

    def refuse_once(self, *args, **kwargs):
        if args and args[0] == "EVAL" and not refusals:
            refusals.append(1)
            raise redis.exceptions.ResponseError("OOM command not allowed when used memory > 'maxmemory'.")
        return execute_command(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "execute_command", refuse_once)
    consumer, taken = _taking(connection, queue, prefetch=10)

    connection.drain_events(timeout=2)
    assert len(taken) == 1  # the BRPOP's message, its burst refused
    connection.drain_events(timeout=2)

    assert not consumer.channel._burst_off
    assert len(taken) == 6  # the second BRPOP's burst took the rest
    assert client.llen(prefix + queue.name) == 0
    assert client.hlen(prefix + "unacked") == 6
    consumer.cancel()
