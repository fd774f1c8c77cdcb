"""The long-polls' shared subscription: one Redis connection for every wait of a process, each
wait woken by its own request's signal only, caps that answer at once, and a Redis that cannot
be reached ending the waits instead of failing them."""

import asyncio
import contextlib
import uuid
from urllib.parse import urlsplit

import redis

from approvals.external import signal as signal_module
from approvals.external.signal import decision_signal, decision_wait, listener_name


def _listener_connections(client: redis.Redis) -> int:
    return sum(1 for each in client.client_list() if each.get("name") == listener_name())


async def _never_decided() -> bool:
    return False


def test_every_wait_of_a_process_shares_one_redis_connection(settings):
    client = redis.Redis.from_url(settings.REDIS_URL)
    seen: list[int] = []

    async def scenario() -> None:
        ids = [uuid.uuid4() for _ in range(50)]
        waits = [
            asyncio.create_task(decision_wait(request_id=i, owner_id=1, timeout=10, decided=_never_decided))
            for i in ids
        ]
        await asyncio.sleep(0.3)  # every wait subscribed and asked
        seen.append(await asyncio.to_thread(_listener_connections, client))
        for request_id in ids:
            await asyncio.to_thread(decision_signal, request_id=request_id)
        await asyncio.wait_for(asyncio.gather(*waits), timeout=5)

    asyncio.run(scenario())

    assert seen == [1]
    assert _listener_connections(client) == 0  # closed once nobody waits


def test_a_signal_wakes_the_waits_on_its_own_request_only(settings):
    async def scenario() -> tuple[bool, bool]:
        first, second = uuid.uuid4(), uuid.uuid4()
        woken = asyncio.create_task(
            decision_wait(request_id=first, owner_id=1, timeout=10, decided=_never_decided)
        )
        other = asyncio.create_task(
            decision_wait(request_id=second, owner_id=1, timeout=10, decided=_never_decided)
        )
        await asyncio.sleep(0.3)
        await asyncio.to_thread(decision_signal, request_id=first)
        await asyncio.wait_for(woken, timeout=5)
        still_waiting = not other.done()
        await asyncio.to_thread(decision_signal, request_id=second)
        await asyncio.wait_for(other, timeout=5)
        return woken.done(), still_waiting

    assert asyncio.run(scenario()) == (True, True)


def test_a_wait_past_its_owners_share_answers_at_once_and_another_owner_still_waits(settings):
    settings.GATE_WAITS_PER_OWNER = 2
    asked: list[int] = []

    def decided_for(owner_id: int):
        async def decided() -> bool:
            asked.append(owner_id)
            return False

        return decided

    async def scenario() -> tuple[bool, bool]:
        held = [
            asyncio.create_task(
                decision_wait(request_id=uuid.uuid4(), owner_id=1, timeout=10, decided=decided_for(1))
            )
            for _ in range(2)
        ]
        await asyncio.sleep(0.3)
        # The owner's third wait ends at once, without reading its action.
        await asyncio.wait_for(
            decision_wait(request_id=uuid.uuid4(), owner_id=1, timeout=10, decided=decided_for(1)), timeout=1
        )
        other = asyncio.create_task(
            decision_wait(request_id=uuid.uuid4(), owner_id=2, timeout=10, decided=decided_for(2))
        )
        await asyncio.sleep(0.3)
        other_waits = not other.done()
        for task in [*held, other]:
            task.cancel()
        await asyncio.gather(*held, other, return_exceptions=True)
        return other_waits, all(t.cancelled() for t in held)

    assert asyncio.run(scenario()) == (True, True)
    assert sorted(asked) == [1, 1, 2]


def test_a_process_past_its_waits_answers_at_once(settings):
    settings.GATE_WAITS_PER_PROCESS = 1

    async def scenario() -> bool:
        held = asyncio.create_task(
            decision_wait(request_id=uuid.uuid4(), owner_id=1, timeout=10, decided=_never_decided)
        )
        await asyncio.sleep(0.3)
        await asyncio.wait_for(
            decision_wait(request_id=uuid.uuid4(), owner_id=2, timeout=10, decided=_never_decided), timeout=1
        )
        waiting = not held.done()
        held.cancel()
        await asyncio.gather(held, return_exceptions=True)
        return waiting

    assert asyncio.run(scenario()) is True


def test_a_redis_that_cannot_be_reached_ends_the_wait_without_an_error(settings):
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # the discard port: nothing listens
    asked: list[bool] = []

    async def decided() -> bool:
        asked.append(True)
        return False

    asyncio.run(
        asyncio.wait_for(decision_wait(request_id=uuid.uuid4(), owner_id=1, timeout=30, decided=decided), 10)
    )

    assert asked == []  # the caller reads its action again itself


def test_a_wait_that_times_out_returns(settings):
    async def scenario() -> None:
        await asyncio.wait_for(
            decision_wait(request_id=uuid.uuid4(), owner_id=1, timeout=0.2, decided=_never_decided), timeout=5
        )

    asyncio.run(scenario())


def test_a_subscription_gone_silent_wakes_its_waits_and_the_next_wait_subscribes_afresh(
    settings, monkeypatch
):
    """A connection that stops answering without a reset (a NAT's idle drop): its unanswered
    ping wakes every wait on it, where each would have slept its whole timeout and missed its
    decision; the wait after that subscribes on a new connection and gets its signal."""
    monkeypatch.setattr(signal_module, "PING_AFTER_S", 0.3)
    real = urlsplit(settings.REDIS_URL)
    frozen = asyncio.Event()

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                if frozen.is_set():
                    return  # bytes vanish: nothing forwarded, nothing closed
                writer.write(data)
                await writer.drain()

    async def relay(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection(real.hostname, real.port or 6379)
        await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer))

    async def scenario() -> tuple[bool, bool]:
        proxy = await asyncio.start_server(relay, "127.0.0.1", 0)
        port = proxy.sockets[0].getsockname()[1]
        settings.REDIS_URL = f"redis://127.0.0.1:{port}{real.path}"
        first = asyncio.create_task(
            decision_wait(request_id=uuid.uuid4(), owner_id=1, timeout=60, decided=_never_decided)
        )
        await asyncio.sleep(0.2)
        frozen.set()
        # Woken by the failed ping, long before its 60 s.
        await asyncio.wait_for(first, timeout=20)
        frozen.clear()
        request_id = uuid.uuid4()
        second = asyncio.create_task(
            decision_wait(request_id=request_id, owner_id=1, timeout=60, decided=_never_decided)
        )
        await asyncio.sleep(0.2)
        await asyncio.to_thread(decision_signal, request_id=request_id)
        await asyncio.wait_for(second, timeout=20)
        proxy.close()
        return first.done(), second.done()

    assert asyncio.run(scenario()) == (True, True)
