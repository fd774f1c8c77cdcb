"""One instance of a resource per process: connection pools, thread pools.

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
