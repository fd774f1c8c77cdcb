"""Per-tool circuit breakers shared by all workers (state in Redis, changed only by Lua).

Closed: calls go through. Open (after N consecutive failures, or an error rate over a window):
calls fail fast with a structured transient error. After the cool-down one call is let
through as a probe (half-open); its success closes the breaker, its failure opens it again.
Failures are the tool's own faults (transient, rate_limit), never a model's bad arguments.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from django.conf import settings

from agents.guards.models import ToolGuard
from agents.guards.ratelimits import rate_take_args
from agents.guards.store import guard_key, guard_redis, guard_script
from agents.models import Tool
from agents.tools.result import ToolResult
from core import clock
from core.raw_rows import prepared_cursor, row_columns, row_instance, row_table

BREAKER_KEY_TTL_MS = 7 * 86_400_000


@dataclass(frozen=True)
class ToolLimits:
    requests_per_minute: int
    breaker_failures: int
    breaker_error_rate: float
    breaker_cooldown_s: int


def tool_limits(*, tool: Tool) -> ToolLimits:
    # Hand-written: read once per run and tool, where the ORM's compiler cost several times
    # what PostgreSQL takes (core/raw_rows.py); prepared: planned once per connection.
    with prepared_cursor() as cursor:
        cursor.execute(_TOOL_GUARD, [tool.pk])
        found = cursor.fetchone()
    row = row_instance(ToolGuard, found) if found is not None else None

    def pick(name: str, default: float) -> float:
        value = getattr(row, name, None) if row else None
        return default if value is None else value

    return ToolLimits(
        requests_per_minute=int(pick("requests_per_minute", settings.GUARD_TOOL_RPM)),
        breaker_failures=int(pick("breaker_failures", settings.GUARD_BREAKER_FAILURES)),
        breaker_error_rate=float(pick("breaker_error_rate", settings.GUARD_BREAKER_ERROR_RATE)),
        breaker_cooldown_s=int(pick("breaker_cooldown_s", settings.GUARD_BREAKER_COOLDOWN_S)),
    )


_TOOL_GUARD = f"SELECT {row_columns(ToolGuard, 'g')} FROM {row_table(ToolGuard)} g WHERE g.tool_id = %s"  # noqa: S608


def breaker_key(tool_name: str) -> str:
    return guard_key("breaker", tool_name)


def _now_ms() -> int:
    return int(clock.now().timestamp() * 1000)


class Admission(NamedTuple):
    admitted: bool
    state: str  # the breaker's
    wait_s: float  # until the breaker may let a call through again (not admitted)
    rate_wait_s: float  # until the tool's rate window has room; 0 when the call took its request


def breaker_admit(*, tool: Tool, limits: ToolLimits, take_rate: bool = False) -> Admission:
    """May a call go to the tool? With `take_rate`, an admitted call also takes its request
    from the tool's rate window (ratelimits.rate_take), in the same round trip."""
    keys = [breaker_key(tool.name)]
    # A probe that never reports back is given up after the tool's own timeout and a margin.
    args = [_now_ms(), limits.breaker_cooldown_s * 1000, int((tool.timeout_s + 5) * 1000)]
    if take_rate:
        rate_key, rate_args = rate_take_args(name=f"tool:{tool.name}", per_minute=limits.requests_per_minute)
        keys.append(rate_key)
        args += rate_args
    admitted, state, wait_ms, rate_wait_ms = guard_script("breaker_admit")(keys=keys, args=args)
    return Admission(bool(int(admitted)), str(state), int(wait_ms) / 1000, int(rate_wait_ms) / 1000)


def breaker_record(*, tool: Tool, limits: ToolLimits, failed: bool) -> str:
    state = guard_script("breaker_record")(
        keys=[breaker_key(tool.name)],
        args=[
            _now_ms(),
            1 if failed else 0,
            limits.breaker_failures,
            limits.breaker_error_rate,
            settings.GUARD_BREAKER_MIN_CALLS,
            settings.GUARD_BREAKER_WINDOW_S * 1000,
            BREAKER_KEY_TTL_MS,
        ],
    )
    return str(state)


def breaker_states(*, tool_names: Sequence[str]) -> dict[str, dict[str, str]]:
    """Each tool's breaker as the console shows it (an unknown tool's is closed), read in one
    round trip to Redis."""
    pipeline = guard_redis().pipeline(transaction=False)
    for name in tool_names:
        pipeline.hgetall(breaker_key(name))
    states = {}
    for name, raw in zip(tool_names, pipeline.execute(), strict=True):
        state = {"state": "closed"}
        if isinstance(raw, dict):
            state.update({str(key): str(value) for key, value in raw.items()})
        states[name] = state
    return states


def breaker_open_result(*, tool: Tool, wait_s: float) -> ToolResult:
    return ToolResult.error(
        "transient",
        f"{tool.name} is unavailable: it failed repeatedly and its circuit breaker is open. "
        f"It will be tried again in about {max(wait_s, 1):.0f}s; carry on without it or tell the user.",
        retry_safe=False,
        retry_after_s=round(wait_s, 3),
        data={"circuit_breaker": "open"},
    )
