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
    key, args = rate_take_args(name=name, per_minute=per_minute)
    wait_ms = guard_script("rate_take")(keys=[key], args=args)
    return int(wait_ms) / 1000


def rate_take_args(*, name: str, per_minute: int) -> tuple[str, list[int]]:
    """rate_take.lua's key and arguments, for a script that takes the request along with its
    own work (cost_reserve.lua, breaker_admit.lua)."""
    key, window_ms, left_ms = rate_window(name=name)
    return key, [per_minute, window_ms, left_ms]


def provider_rate_name(provider: str) -> str:
    return f"provider:{provider}"


def provider_rate_wait(*, provider: str, max_wait_s: float = 5.0, first_wait_s: float | None = None) -> None:
    """Hold a model call until its provider's shared window has room (at most `max_wait_s`;
    the provider's own 429 handling takes over after that). Unmetered by design when Redis
    is unreachable: the call's cost was reserved a moment ago, so the money is guarded.
    `first_wait_s`: the answer of a take already made for this call (the cost reservation's,
    spend.py), so the first round trip is not repeated."""
    deadline = time.monotonic() + max_wait_s
    wait = first_wait_s
    while True:
        if wait is None:
            try:
                wait = rate_take(name=provider_rate_name(provider), per_minute=settings.GUARD_PROVIDER_RPM)
            except redis.RedisError:
                return
        left = deadline - time.monotonic()
        if wait <= 0 or left <= 0:
            return
        time.sleep(min(wait, left))
        wait = None
