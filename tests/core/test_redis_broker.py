"""The broker transport's burst consumer against the real Redis: what it takes, and that what it
takes is recorded, acknowledged and restored exactly as kombu's own consumer does."""

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
