"""Celery's Redis transport, with a consumer that takes a burst of messages in one round trip.

kombu's Redis consumer takes one message per BRPOP, then records it as unacknowledged in a
second round trip. A worker process runs a hundred runs on threads, and while they work the
consumer thread waits for the interpreter lock after each of its round trips, so a burst of
runs (a batch submission, an eval run, the first wave of a hundred sessions) was taken at about
a hundred messages a second per process, however many threads sat idle: the last run of a burst
of 200 started ~1 s after it was sent (bench/README.md, "concurrency").

Here, once a BRPOP has answered, the consumer takes what else waits in its queues, up to the
room its prefetch window has left and at most BURST_MAX, in one more round trip: a script that
takes them and records them unacknowledged in one atomic step, before it hands them on. Each is
recorded as kombu records a BRPOP's message (the same keys and entries), so acknowledgement,
redelivery after the visibility timeout and restoring at shutdown stay kombu's own; and no
message is ever off its queue without that record, whatever happens to the connection (its
answer lost, the process killed): at worst kombu restores it after the visibility timeout.
Celery uses this transport through `CELERY_BROKER_TRANSPORT` (console/settings/base.py).
"""

import logging
from time import time
from typing import Any

import redis
from kombu.transport import redis as kombu_redis
from kombu.transport import virtual
from kombu.utils.encoding import bytes_to_str
from kombu.utils.json import loads

# At most this many messages a round trip: what one process can take ahead of the others, and
# what a process that dies before running them holds until the visibility timeout.
BURST_MAX = 16

# KEYS: kombu's unacked hash and index, then the queues' default-priority lists; ARGV: the time
# recorded (kombu's client clock, as its own entries) and how many to take from each list. Takes
# the oldest messages (a list's right end, where BRPOP takes) and answers [queue's position,
# message, ...]. An entry is kombu's `[message, exchange, routing_key]` with the message's text
# as it was queued. A message that is not kombu's JSON stops the take at it: BRPOP takes it
# next, and kombu's consumer handles it as it handles any.
_TAKE = """
local taken = {}
for q = 3, #KEYS do
  local items = redis.call('LRANGE', KEYS[q], -tonumber(ARGV[2]), -1)
  local count = 0
  for i = #items, 1, -1 do
    local ok, message = pcall(cjson.decode, items[i])
    local properties = ok and type(message) == 'table' and message['properties']
    local tag = type(properties) == 'table' and properties['delivery_tag']
    local delivery = type(properties) == 'table' and properties['delivery_info']
    if type(tag) ~= 'string' or type(delivery) ~= 'table' then
      break
    end
    local entry = '[' .. items[i] .. ',' .. cjson.encode(delivery['exchange']) .. ','
      .. cjson.encode(delivery['routing_key']) .. ']'
    redis.call('HSET', KEYS[1], tag, entry)
    redis.call('ZADD', KEYS[2], ARGV[1], tag)
    taken[#taken + 1] = q - 2
    taken[#taken + 1] = items[i]
    count = count + 1
  end
  if count > 0 then
    redis.call('LTRIM', KEYS[q], 0, -count - 1)
  end
end
return taken
"""

logger = logging.getLogger(__name__)


class QoS(kombu_redis.QoS):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The tag of the burst message being delivered now: recorded unacknowledged already.
        # Only for the delivery's call, so that no tag stays marked if a delivery fails (that
        # message, redelivered later, must be recorded again).
        self.delivering_recorded: str | None = None

    def append(self, message: virtual.Message, delivery_tag: str) -> None:
        if delivery_tag == self.delivering_recorded:
            virtual.QoS.append(self, message, delivery_tag)  # the in-memory window only
            return
        super().append(message, delivery_tag)


class Channel(kombu_redis.Channel):
    QoS = QoS
    _burst_off = False  # the server refuses scripts

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
        prefix = self.global_keyprefix
        keys = [prefix + self.unacked_key, prefix + self.unacked_index_key]
        keys += [prefix + self._q_for_pri(queue, self.priority_steps[0]) for queue in queues]
        try:
            with self.conn_or_acquire() as client:
                # EVAL: kombu's prefixing client leaves its keys alone (they are prefixed here).
                answer = client.execute_command("EVAL", _TAKE, len(keys), *keys, repr(time()), share)
        except redis.ResponseError as exc:
            # Only a broker that refuses scripts for good turns bursts off; a passing refusal
            # (READONLY after a failover, OOM, BUSY, LOADING) skips this burst alone.
            if isinstance(exc, redis.exceptions.NoPermissionError) or "unknown command" in str(exc).lower():
                self._burst_off = True
                logger.warning("no bursts: the broker runs no scripts (%s)", exc)
            else:
                logger.warning("no burst this time: the broker refused the script (%s)", exc)
            return
        # Recorded already: a failure from here on leaves them to kombu's restore.
        for position, item in zip(answer[::2], answer[1::2], strict=True):
            queue = queues[int(position) - 1]
            payload = loads(bytes_to_str(item))
            self.qos.delivering_recorded = payload["properties"]["delivery_tag"]
            try:
                self.connection._deliver(payload, queue)
            finally:
                self.qos.delivering_recorded = None


class Transport(kombu_redis.Transport):
    Channel = Channel
