"""The long-polls' shared subscription: one Redis connection for every wait of a process, each
wait woken by its own request's signal only, caps that answer at once, and a Redis that cannot
be reached ending the waits instead of failing them."""

import asyncio
import uuid

import redis

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
