"""The decision's signal to waiting long-polls: one Redis pub/sub message per decided request.

Every wait of a process's event loop shares one subscription (a pattern over the instance's
decision channels) on one Redis connection, open while anyone waits: a connection per waiting
request let one caller with one pending action hold as many Redis connections as it opened
requests. The signal carries no data; the waiter reads the decision from PostgreSQL. Past
GATE_WAITS_PER_PROCESS waits in a process, or GATE_WAITS_PER_OWNER of one owner, a wait ends at
once (the caller reads "pending" and asks again).
"""

import asyncio
import logging
import os
import uuid
import weakref
from collections import Counter
from collections.abc import Awaitable, Callable

import redis
import redis.asyncio
from django.conf import settings

logger = logging.getLogger(__name__)
_clients: dict[int, redis.Redis] = {}
_PREFIX_END = ":gate:decided:"
PING_AFTER_S = 10.0  # a subscription silent this long is pinged, and given as long to answer


def decided_channel(request_id: uuid.UUID | str) -> str:
    # The instance name keeps two stacks on one Redis server apart (pub/sub ignores the db); it
    # holds no glob character (core/instance.py), so the listener's pattern is the instance's.
    return f"{settings.TOLLGATE_INSTANCE}{_PREFIX_END}{request_id}"


def decision_signal(*, request_id: uuid.UUID) -> None:
    """Wake the long-polls waiting on this request; a failure is logged (they time out)."""
    client = _clients.get(os.getpid())
    if client is None:
        client = _clients[os.getpid()] = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)
    try:
        client.publish(decided_channel(request_id), b"1")
    except redis.RedisError as exc:
        logger.warning("decision signal for %s failed: %r", request_id, exc)


def listener_name() -> str:
    """The subscription's Redis client name (CLIENT LIST shows each process's one connection)."""
    return f"{settings.TOLLGATE_INSTANCE}-gate-waits"


async def decision_wait(
    *, request_id: uuid.UUID | str, owner_id: int, timeout: float, decided: Callable[[], Awaitable[bool]]
) -> None:
    """Return once `decided()` says so or the signal comes, or after `timeout` seconds; at once
    past a cap, or when the subscription fails (the caller reads the action again either way).

    `decided()` is asked after Redis confirmed the subscription: a signal sent before that
    is never missed.
    """
    listener = _listener()
    if not listener.admit(owner_id):
        return
    key = str(request_id)
    woken = asyncio.Event()
    subscribed = listener.add(key, woken, owner_id)
    try:
        async with asyncio.timeout(timeout):
            # Shielded: a caller that leaves must not cancel the subscription others share.
            if not await asyncio.shield(subscribed) or await decided():
                return
            await woken.wait()
    except TimeoutError:
        return
    finally:
        listener.remove(key, woken, owner_id)


class _Listener:
    """One event loop's pattern subscription, and the waits it wakes."""

    def __init__(self) -> None:
        self.waits: dict[str, set[asyncio.Event]] = {}
        self.owners: Counter[int] = Counter()
        self.count = 0
        self.task: asyncio.Task[None] | None = None
        self.ready: asyncio.Future[bool] | None = None

    def admit(self, owner_id: int) -> bool:
        return (
            self.count < settings.GATE_WAITS_PER_PROCESS
            and self.owners[owner_id] < settings.GATE_WAITS_PER_OWNER
        )

    def add(self, key: str, woken: asyncio.Event, owner_id: int) -> asyncio.Future[bool]:
        """Register a wait; the future is True once Redis confirmed the subscription, False if
        it failed."""
        self.waits.setdefault(key, set()).add(woken)
        self.owners[owner_id] += 1
        self.count += 1
        if self.task is None or self.ready is None:
            loop = asyncio.get_running_loop()
            self.ready = loop.create_future()
            self.task = loop.create_task(self._listen(self.ready))
        return self.ready

    def remove(self, key: str, woken: asyncio.Event, owner_id: int) -> None:
        waits = self.waits.get(key)
        if waits is not None:
            waits.discard(woken)
            if not waits:
                del self.waits[key]
        self.owners[owner_id] -= 1
        if not self.owners[owner_id]:
            del self.owners[owner_id]
        self.count -= 1
        if not self.count and self.task is not None:
            # Nobody waits: the connection closes (a process that long-polls rarely holds none).
            self.task.cancel()
            self.task = self.ready = None

    async def _listen(self, ready: asyncio.Future[bool]) -> None:
        # No read timeout: the connection idles between decisions. A connection that goes
        # silent without a reset (a NAT or load balancer's idle drop) is found by a ping
        # unanswered: every wait is then woken and the next one subscribes afresh.
        client = redis.asyncio.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=2, client_name=listener_name()
        )
        pubsub = client.pubsub()
        try:
            await pubsub.psubscribe(decided_channel("*"))
            pinged = False
            while True:
                message = await pubsub.get_message(timeout=PING_AFTER_S)
                if message is None:
                    if pinged:
                        raise redis.ConnectionError(f"no answer to a ping in {PING_AFTER_S} s")
                    await pubsub.ping()
                    pinged = True
                    continue
                pinged = False
                if message["type"] == "psubscribe":
                    if not ready.done():
                        ready.set_result(True)
                elif message["type"] == "pmessage":
                    key = message["channel"].decode().rpartition(_PREFIX_END)[2]
                    for woken in self.waits.get(key, ()):
                        woken.set()
        except redis.RedisError as exc:  # every wait reads its action again and answers
            logger.warning("decision signal subscription failed: %r", exc)
        finally:
            self._fail(ready)
            await pubsub.aclose()
            await client.aclose()

    def _fail(self, ready: asyncio.Future[bool]) -> None:
        """Wake every wait of this subscription; each reads its action again and answers."""
        if not ready.done():
            ready.set_result(False)
        if self.ready is ready:
            for waits in self.waits.values():
                for woken in waits:
                    woken.set()
            self.task = self.ready = None


_listeners: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Listener]" = weakref.WeakKeyDictionary()


def _listener() -> _Listener:
    loop = asyncio.get_running_loop()
    listener = _listeners.get(loop)
    if listener is None:
        listener = _listeners[loop] = _Listener()
    return listener
