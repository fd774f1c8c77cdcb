"""Celery's Redis transport, with a consumer that takes a burst of messages in one round trip.

kombu's Redis consumer takes one message per BRPOP, then records it as unacknowledged in a
second round trip. A worker process runs a hundred runs on threads, and while they work the
consumer thread waits for the interpreter lock after each of its round trips, so a burst of
runs (a batch submission, an eval run, the first wave of a hundred sessions) was taken at about
a hundred messages a second per process, however many threads sat idle: the last run of a burst
of 200 started ~1 s after it was sent (bench/README.md, "concurrency").

Here, once a BRPOP has answered, the consumer takes what else waits in its queues, up to the
room its prefetch window has left and at most BURST_MAX, in one more round trip (RPOP with a
count: Redis 6.2 or later; on an older server it takes none), and records those messages as
unacknowledged in one pipeline before it hands them on. Each is recorded as kombu records a
BRPOP's message (the same keys and entries), so acknowledgement, redelivery after the
visibility timeout and restoring at shutdown stay kombu's own. Celery uses this transport
through `CELERY_BROKER_TRANSPORT` (console/settings/base.py).
"""

import logging
from time import time
from typing import Any

import redis
from kombu.transport import redis as kombu_redis
from kombu.transport import virtual
from kombu.utils.encoding import bytes_to_str
from kombu.utils.json import dumps, loads

# At most this many messages a round trip. They are what a failure between taking them and
# recording them unacknowledged can strand (the stalled-task sweeper sends their tasks again,
# after the visibility timeout), and what one process can take ahead of the others.
BURST_MAX = 16

logger = logging.getLogger(__name__)


class QoS(kombu_redis.QoS):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Tags recorded unacknowledged by burst_record, whose delivery has not appended them yet.
        self._recorded: set[str] = set()

    def burst_record(self, messages: list[virtual.Message]) -> None:
        """Record a burst's messages as unacknowledged, in one round trip, as kombu's
        `append` records one (kombu.transport.redis.QoS.append)."""
        now = time()
        with self.channel.conn_or_acquire() as client, client.pipeline(transaction=False) as pipe:
            pipe.zadd(self.unacked_index_key, {message.delivery_tag: now for message in messages})
            for message in messages:
                delivery = message.delivery_info
                entry = dumps([message._raw, delivery["exchange"], delivery["routing_key"]])
                pipe.hset(self.unacked_key, message.delivery_tag, entry)
            pipe.execute()
        self._recorded.update(message.delivery_tag for message in messages)

    def append(self, message: virtual.Message, delivery_tag: str) -> None:
        if delivery_tag in self._recorded:
            self._recorded.discard(delivery_tag)
            virtual.QoS.append(self, message, delivery_tag)  # the in-memory window only
            return
        super().append(message, delivery_tag)


class Channel(kombu_redis.Channel):
    QoS = QoS
    _burst_off = False  # the server has no RPOP with a count (Redis before 6.2)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only queues whose messages are acknowledged are taken in bursts: a burst records what
        # it takes as unacknowledged, which a no_ack consumer would never clear.
        self._acked_queues: set[str] = set()

    def basic_consume(self, queue: str, no_ack: bool, *args: Any, **kwargs: Any) -> Any:
        if no_ack:
            self._acked_queues.discard(queue)
        else:
            self._acked_queues.add(queue)
        return super().basic_consume(queue, no_ack, *args, **kwargs)

    def _brpop_read(self, **options: Any) -> bool:
        delivered = super()._brpop_read(**options)
        # Not while closing: kombu then reads the last BRPOP's answer only to hand it back.
        if delivered and not self._closing and not self._burst_off:
            self._waiting_take()
        return delivered

    def _waiting_take(self) -> None:
        """Deliver the messages waiting in this channel's queues, as many as it has room for
        (at most BURST_MAX), from each queue's default-priority list: messages of other
        priorities are taken by BRPOP, one at a time, as kombu takes them."""
        room = self.qos.can_consume_max_estimate()
        room = BURST_MAX if room is None else min(room, BURST_MAX)
        cycle = self._queue_cycle.consume(len(self.active_queues))
        queues = [queue for queue in cycle if queue in self._acked_queues]
        if room <= 0 or not queues:
            return
        queues = queues[:room]
        share = room // len(queues)
        try:
            with self.conn_or_acquire() as client, client.pipeline(transaction=False) as pipe:
                for queue in queues:
                    pipe.rpop(self._q_for_pri(queue, self.priority_steps[0]), share)
                answers = pipe.execute()
        except redis.ResponseError as exc:
            self._burst_off = True
            logger.warning("no bursts: RPOP with a count needs Redis 6.2 or later (%s)", exc)
            return
        burst = [
            (queue, self.Message(loads(bytes_to_str(item)), channel=self))
            for queue, items in zip(queues, answers, strict=True)
            for item in items or ()
        ]
        if not burst:
            return
        self.qos.burst_record([message for _, message in burst])
        for queue, message in burst:
            self.connection._deliver(message._raw, queue)


class Transport(kombu_redis.Transport):
    Channel = Channel
