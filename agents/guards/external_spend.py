"""The budget API: an agent that runs elsewhere reserves before it spends and settles after.

The same cost breaker as the runtime's model calls (spend.py, cost_reserve.lua): the same
three scopes (session, user per day, global per hour) and the same counters, so one user's
internal and external work share one daily budget. A caller's user-day keys are its own
(owner_user_key): an end user it names is one of its own, never another account's day. What a
reservation covers is kept in Redis beside the counters, so a settle needs only the
reservation's id, and a settle may not count more than the reservation held.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import redis
from django.contrib.auth.models import User

from agents.guards.spend import (
    NANO,
    Reservation,
    Scope,
    cost_reserve_rebuilt,
    cost_settle,
    scope_usage_shown,
    task_call_reservation,
)
from agents.guards.store import guard_key, guard_redis
from agents.services.external import external_task_for
from core import clock
from core.errors import Invalid, NotFound, ServiceError

# Long enough to settle a reservation whose call outlived its hold (the spend still counts).
RECORD_TTL_S = 86_400
MAX_AMOUNT_USD = Decimal("100000")


class SpendUnmetered(ServiceError):
    status = 503
    code = "unavailable"


@dataclass(frozen=True)
class BudgetAnswer:
    decision: str  # reserved | refused | wait
    reservation: str | None
    scope: str | None = None
    ceiling_usd: Decimal | None = None
    spent_usd: Decimal | None = None
    reserved_usd: Decimal | None = None


def budget_reserve(
    *, owner: User, agent: str, session: str, amount_usd: Decimal, model: str = "", user: str = ""
) -> BudgetAnswer:
    """Hold `amount_usd` in every scope or in none: reserved, refused (spend leaves no room), or
    wait (other reservations hold the room; ask again)."""
    _check_amount(amount_usd, field="amount_usd")
    task = external_task_for(owner=owner, agent_name=agent, session_id=session)
    now = clock.now()
    reservation = task_call_reservation(
        task, model=model[:200], amount=amount_usd, now=now, purpose="ext", end_user=user
    )
    try:
        code, index, spent, reserved = cost_reserve_rebuilt(reservation, now=now)
        if code == 1:
            _remember(owner, reservation)
            return BudgetAnswer(decision="reserved", reservation=reservation.id)
    except redis.RedisError as exc:
        raise SpendUnmetered(f"spend cannot be metered now (Redis unreachable: {exc}); try again") from exc
    if code == -1:
        raise SpendUnmetered("the spend counters could not be rebuilt; try again")
    scope = reservation.scopes[index - 1]
    shown = scope_usage_shown(scope)
    return BudgetAnswer(
        decision="refused" if code == 0 else "wait",
        reservation=None,
        scope=scope.name,
        ceiling_usd=scope.ceiling,
        spent_usd=Decimal(spent) / NANO if shown else None,
        reserved_usd=Decimal(reserved) / NANO if shown else None,
    )


def budget_settle(*, owner: User, reservation_id: str, cost_usd: Decimal) -> None:
    """Replace the reservation by what was really spent; settling twice counts once. A cost
    above what the reservation held is refused: the ceilings were checked against that amount,
    so more would pass them unchecked (reserve 0, settle any amount)."""
    _check_amount(cost_usd, field="cost_usd")
    try:
        raw = guard_redis().get(_record_key(reservation_id))
    except redis.RedisError as exc:
        raise SpendUnmetered(f"spend cannot be metered now (Redis unreachable: {exc}); try again") from exc
    record = json.loads(raw) if raw else None
    if record is None or record["owner"] != owner.pk:
        raise NotFound(f"no reservation {reservation_id} of yours (unknown, or settled over a day ago)")
    held = Decimal(record["amount_nano"]) / NANO  # the amount reserved, as the counters hold it
    if cost_usd > held:
        raise Invalid(
            f"cost_usd {cost_usd} is more than reservation {reservation_id} held ({held:f} USD): "
            "reserve the call's worst case",
            field="cost_usd",
        )
    reservation = Reservation(
        id=reservation_id,
        scopes=tuple(
            Scope(name, key, Decimal(ceiling) if ceiling is not None else None, datetime.fromisoformat(start))
            for name, key, ceiling, start in record["scopes"]
        ),
        amount_nano=record["amount_nano"],
        task_id=record["task_id"],
        session_id=record["session_id"],
        user_key=record["user_key"],
        model=record["model"],
    )
    cost_settle(reservation, cost=cost_usd, at=clock.now())


def _remember(owner: User, reservation: Reservation) -> None:
    record = {
        "owner": owner.pk,
        "scopes": [
            [s.name, s.key, str(s.ceiling) if s.ceiling is not None else None, s.start.isoformat()]
            for s in reservation.scopes
        ],
        "amount_nano": reservation.amount_nano,
        "task_id": reservation.task_id,
        "session_id": reservation.session_id,
        "user_key": reservation.user_key,
        "model": reservation.model,
    }
    guard_redis().set(_record_key(reservation.id), json.dumps(record), ex=RECORD_TTL_S)


def _record_key(reservation_id: str) -> str:
    return guard_key("cost", "external", reservation_id)


def _check_amount(amount: Decimal, *, field: str) -> None:
    if not amount.is_finite() or not Decimal(0) <= amount <= MAX_AMOUNT_USD:
        raise Invalid(f"{field} must be from 0 to {MAX_AMOUNT_USD} USD", field=field)
    if amount.as_tuple().exponent < -12:  # type: ignore[operator]
        raise Invalid(f"{field} has more than 12 decimal places", field=field)
