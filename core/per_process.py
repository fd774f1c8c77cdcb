"""One instance of a resource per process (or per thread): connection pools, thread pools.

A Celery prefork child inherits its parent's objects but must not use them: sockets would be
shared with another process reading the same connection, and a thread pool's threads do
not survive the fork. So the instance is keyed on the process id and made on first use.
"""

import os
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerProcess(Generic[T]):
    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._pid = 0
        self._instance: T | None = None

    def __call__(self) -> T:
        pid = os.getpid()
        instance = self._instance
        if instance is None or self._pid != pid:
            with self._lock:
                if self._instance is None or self._pid != pid:
                    self._instance = self._factory()
                    self._pid = pid
                instance = self._instance
        return instance


class PerThread(Generic[T]):
    """One instance per thread, made on the thread's first use (and again in a forked child).

    For a resource a thread uses one request at a time, where sharing one among hundreds of
    threads costs more than it saves: a shared HTTP pool takes a lock and scans every
    connection on each request and on each response's close."""

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._local = threading.local()

    def __call__(self) -> T:
        local = self._local
        pid = os.getpid()
        if getattr(local, "pid", 0) != pid:
            local.instance = self._factory()
            local.pid = pid
        instance: T = local.instance
        return instance
