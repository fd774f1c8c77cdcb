"""The guardrails' Redis: one client per process, keys under a prefix, Lua scripts by name.

Guard state is shared by every worker on every machine, so it lives in Redis and changes only
inside Lua scripts (Redis runs each script atomically: no other client's command interleaves).
"""

import os
import threading
from functools import cache
from pathlib import Path

import redis
from django.conf import settings
from redis.commands.core import Script

SCRIPTS = Path(__file__).resolve().parent / "redis_scripts"

_lock = threading.Lock()
_clients: dict[tuple[int, str, float], redis.Redis] = {}
_scripts: dict[tuple[int, str], Script] = {}


def guard_redis() -> redis.Redis:
    """This process's client. Short timeouts: a guard that cannot reach Redis decides at once
    (fail closed) instead of holding the step for the library's default of forever."""
    key = (os.getpid(), settings.GUARD_REDIS_URL, settings.GUARD_REDIS_TIMEOUT_S)
    client = _clients.get(key)
    if client is None:
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = redis.Redis.from_url(
                    settings.GUARD_REDIS_URL,
                    socket_timeout=settings.GUARD_REDIS_TIMEOUT_S,
                    socket_connect_timeout=settings.GUARD_REDIS_TIMEOUT_S,
                    retry_on_timeout=False,
                    decode_responses=True,
                )
                _clients[key] = client
    return client


def guard_key(*parts: object) -> str:
    return settings.GUARD_KEY_PREFIX + ":".join(str(part) for part in parts)


def guard_script(name: str) -> Script:
    """A registered script (EVALSHA, loading it again after a Redis restart emptied the cache)."""
    client = guard_redis()
    key = (id(client), name)
    script = _scripts.get(key)
    if script is None:
        script = _scripts[key] = client.register_script(_source(name))
    return script


@cache
def _source(name: str) -> str:
    return (SCRIPTS / f"{name}.lua").read_text()
