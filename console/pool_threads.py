"""A worker process starts all its pool's threads before it takes its first message.

Celery's threads pool (concurrent.futures) starts a thread only when a message finds none idle,
and starting one makes the consumer thread wait until the new thread runs. In a process whose
threads are busy, that wait is for the interpreter lock: a burst of a hundred runs used to be
taken about one every 8 ms per process, one thread start at a time (bench/README.md,
"concurrency"). Started ahead, the threads wait idle for work; the pool never holds more than
its concurrency anyway.
"""

import threading
from typing import Any

from celery.signals import worker_ready


@worker_ready.connect
def pool_threads_start(sender: Any = None, **_: Any) -> None:
    pool: Any = getattr(sender, "pool", None)
    executor = getattr(pool, "executor", None)
    if executor is None:  # not the threads pool
        return
    started = threading.Event()
    # Each placeholder keeps its thread busy until all are submitted, so every submission
    # finds no idle thread and starts a new one, up to the pool's size.
    placeholders = [executor.submit(started.wait) for _ in range(pool.limit)]
    started.set()
    for placeholder in placeholders:
        placeholder.result()
