"""Races run for real: threads on separate database connections, started at one moment."""

import threading
from collections.abc import Callable

from django.db import connection

from core.errors import ServiceError


def race(
    *actions: Callable[[], object],
    expected: tuple[type[BaseException], ...] = (ServiceError, AssertionError),
) -> list[object]:
    """Start every action at the same moment; each gives its value or the `expected` exception
    it raised. Any other exception fails the race: it never passes as a missing result."""
    barrier = threading.Barrier(len(actions))
    results: list[object] = [None] * len(actions)
    unexpected: list[BaseException] = []

    def go(index: int, action: Callable[[], object]) -> None:
        try:
            barrier.wait()
            results[index] = action()
        except expected as exc:
            results[index] = exc
        except BaseException as exc:  # surfaced below, in the test's thread
            unexpected.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=go, args=item) for item in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if unexpected:
        raise unexpected[0]
    return results
