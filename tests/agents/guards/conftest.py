import contextlib
import uuid
from collections.abc import Iterator

import pytest
import redis

from agents.guards.store import guard_redis


@pytest.fixture(autouse=True)
def guard_prefix(settings) -> Iterator[str]:
    """Each test's guard counters under their own prefix: parallel runs share one Redis."""
    prefix = f"tgtest:{uuid.uuid4().hex[:12]}:"
    settings.GUARD_KEY_PREFIX = prefix
    yield prefix
    client = guard_redis()
    with contextlib.suppress(redis.RedisError):  # a test's private Redis may be gone already
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
