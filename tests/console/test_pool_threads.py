"""A worker process starts its pool's threads before its first message (console/pool_threads.py)."""

import threading
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

from console.pool_threads import pool_threads_start


def test_every_thread_of_the_pool_is_started_and_left_idle():
    executor = ThreadPoolExecutor(max_workers=12)
    try:
        pool_threads_start(sender=SimpleNamespace(pool=SimpleNamespace(executor=executor, limit=12)))
        assert len(executor._threads) == 12

        # Idle, not busy: twelve runs at once all find a started thread, and none is added.
        arrived = threading.Barrier(12, timeout=5)
        results = [executor.submit(arrived.wait) for _ in range(12)]
        assert sorted(result.result(timeout=5) for result in results) == list(range(12))
        assert len(executor._threads) == 12
    finally:
        executor.shutdown()
