"""Requests per window per tool and per model provider, shared by every worker."""

import time

import redis
from django.conf import settings

from agents.guards.store import guard_key, guard_script
from core import clock

WINDOW_S = 60


def rate_window(*, name: str) -> tuple[str, int, int]:
    """The current window of `name`: (its counter's key, the window's length, ms left in it)."""
    now_ms = int(clock.now().timestamp() * 1000)
    window_ms = WINDOW_S * 1000
    window = now_ms // window_ms
    return guard_key("rate", name, window), window_ms, window_ms - now_ms % window_ms


def rate_take(*, name: str, per_minute: int) -> float:
    """Take one request for `name`; 0 when taken, else the seconds until the window ends."""
    key, window_ms, left_ms = rate_window(name=name)
    wait_ms = guard_script("rate_take")(keys=[key], args=[per_minute, window_ms, left_ms])
    return int(wait_ms) / 1000


def provider_rate_wait(*, provider: str, max_wait_s: float = 5.0) -> None:
    """Hold a model call until its provider's shared window has room (at most `max_wait_s`;
    the provider's own 429 handling takes over after that). Unmetered by design when Redis
    is unreachable: the call's cost was reserved a moment ago, so the money is guarded."""
    deadline = time.monotonic() + max_wait_s
    while True:
        try:
            wait = rate_take(name=f"provider:{provider}", per_minute=settings.GUARD_PROVIDER_RPM)
        except redis.RedisError:
            return
        left = deadline - time.monotonic()
        if wait <= 0 or left <= 0:
            return
        time.sleep(min(wait, left))
