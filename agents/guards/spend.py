"""Cost circuit breakers: per session, per user per UTC day, and global per UTC hour.

Before each model call the step's worst-case cost is reserved in all three scopes at once
(redis_scripts/cost_reserve.lua); after the call the real cost replaces it (cost_settle.lua).
The real cost is also written to Postgres (SpendRecord), from which a scope's counters are
rebuilt whenever Redis has lost them. Redis unreachable means no call: the task parks.
"""

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import TYPE_CHECKING, Any

import redis
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from agents.guards.decision import ALLOW, Decision, Verdict
from agents.guards.models import GuardAlert, SpendRecord
from agents.guards.plan import agent_guards, guard_context, step_plan
from agents.guards.ratelimits import provider_rate_name, rate_take_args
from agents.guards.store import guard_key, guard_redis, guard_script
from agents.guards.tokens import messages_tokens
from agents.models import Session, Task
from agents.providers.pricing import model_price_at, unpriced_reason
from agents.providers.registry import provider_for
from agents.runtime import messages as conversation
from agents.runtime.turns import turn_given_back
from agents.runtime.waiting import db_connection_release
from core import clock
from core.raw_rows import prepared_cursor, row_table

if TYPE_CHECKING:
    from agents.runtime.state import RunState

logger = logging.getLogger(__name__)

NANO = Decimal("1e9")
SCOPES = ("session", "user_day", "global_hour")
_KEY_TTL_MS = {"session": 7 * 86_400_000, "user_day": 2 * 86_400_000, "global_hour": 2 * 3_600_000}
_POLL_S = 0.05


@dataclass(frozen=True)
class Scope:
    name: str  # one of SCOPES
    key: str  # the scope's Redis hash; its reservations' sorted set is key + ":exp"
    ceiling: Decimal | None
    start: datetime  # the window's start (user_day, global_hour; the session's creation), for the rebuild


@dataclass(frozen=True)
class Reservation:
    id: str
    scopes: tuple[Scope, ...]
    amount_nano: int
    task_id: str
    session_id: str
    user_key: str
    model: str


def to_nano(amount: Decimal) -> int:
    """Whole nano-dollars, rounded up: a counter never shows less than was spent."""
    return int((amount * NANO).to_integral_value(rounding=ROUND_CEILING))


def user_key(state: "RunState") -> str:
    return session_user_key(state.task.session)


def session_user_key(session: Session) -> str:
    """Who a session's user-day ceiling is for: the end user it names, else its account."""
    return owner_user_key(owner_id=session.owner_id, end_user=session.end_user)


def owner_user_key(*, owner_id: int, end_user: str = "") -> str:
    """The user-day key of an account (`owner-<pk>`), or of an end user it names, under it
    (`owner-<pk>/<end user>`): an end user's name comes from the caller, so it never leaves the
    caller's own keys (the pk ends at the '/' or at the key's end: no name reaches another's)."""
    account = f"owner-{owner_id}"
    return f"{account}/{end_user}" if end_user else account


def spend_scopes(state: "RunState", *, now: datetime) -> tuple[Scope, ...]:
    return scopes_for(
        session_id=state.task.session_id,
        session_start=state.task.session.created_at,
        session_ceiling=state.version.max_cost_usd,
        user=user_key(state),
        user_day_ceiling=guard_context(state).config.user_day_usd,
        now=now,
    )


def scopes_for(
    *,
    session_id: uuid.UUID,
    session_start: datetime,
    session_ceiling: Decimal | None,
    user: str,
    user_day_ceiling: Decimal | None,
    now: datetime,
) -> tuple[Scope, ...]:
    """The three scopes a call's cost counts in: internal steps and the budget API share them."""
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    hour = now.replace(minute=0, second=0, microsecond=0)
    return (
        Scope("session", guard_key("cost", "session", session_id), session_ceiling, session_start),
        Scope("user_day", guard_key("cost", "user", user, f"{day:%Y%m%d}"), user_day_ceiling, day),
        Scope(
            "global_hour",
            guard_key("cost", "global", f"{hour:%Y%m%d%H}"),
            settings.GUARD_GLOBAL_HOUR_USD,
            hour,
        ),
    )


def scope_usage_shown(scope: Scope) -> bool:
    """Whether whoever a refusal in `scope` is told may see its spent and reserved sums: not in
    the global hour, whose counters sum every account's spend (it is told the scope and its
    ceiling, not what the others spent)."""
    return scope.name != "global_hour"


def worst_case_cost(*, model: str, state: "RunState", at: datetime) -> Decimal | None:
    """The most the next call can cost: every prompt token at the dearer of the input and
    cache-write rates (nothing assumed cached) and the full max_tokens of output.
    None when the model has no price: such a call cannot be metered, so it is not made."""
    messages = conversation.with_system_prompt(state.version.system_prompt, state.task.messages)
    return call_worst_case(
        model=model, messages=messages, tools=state.tool_specs, max_tokens=settings.MAX_OUTPUT_TOKENS, at=at
    )


def call_worst_case(
    *,
    model: str,
    messages: list[dict[str, Any]],
    max_tokens: int,
    at: datetime,
    tools: list[dict[str, Any]] | None = None,
) -> Decimal | None:
    """The most one call of `model` with these messages can cost (worst_case_cost's bound for
    any call: a step's, a summary's, an eval judge's); None when the model has no price."""
    price = model_price_at(model=model, at=at)
    if price is None:
        return None
    prompt = messages_tokens(messages, tools=tools, worst_case=True)
    per_million = prompt * max(price.input, price.cache_write) + max_tokens * price.output
    return per_million / Decimal(1_000_000)


def spend_reservation_for(
    state: "RunState", *, model: str, amount: Decimal = Decimal(0), now: datetime | None = None
) -> Reservation:
    """A reservation for one model call of this task (amount 0: settle-only, for a call that
    is recorded without being reserved first, such as a context summary)."""
    return Reservation(
        id=f"{state.task.id}:{state.task.step_index}:{uuid.uuid4().hex[:8]}",
        scopes=spend_scopes(state, now=now or clock.now()),
        amount_nano=to_nano(amount),
        task_id=str(state.task.id),
        session_id=str(state.task.session_id),
        user_key=user_key(state),
        model=model,
    )


def task_call_reservation(
    task: Task, *, model: str, amount: Decimal, now: datetime, purpose: str, end_user: str = ""
) -> Reservation:
    """A reservation for a model call made about `task` outside its run (an eval judge's, an
    external agent's through the budget API): in the scopes the task's own calls count in (its
    session with its version's ceiling, its user's day, the global hour). `purpose` prefixes the
    id, to tell such calls apart in the ledger; `end_user`: the end user of the session's owner
    whose day it counts in, if not the session's."""
    session = task.session
    version = session.agent_version
    user = owner_user_key(owner_id=session.owner_id, end_user=end_user or session.end_user)
    return Reservation(
        id=f"{purpose}:{task.id}:{uuid.uuid4().hex}",
        scopes=scopes_for(
            session_id=task.session_id,
            session_start=session.created_at,
            session_ceiling=version.max_cost_usd,
            user=user,
            user_day_ceiling=agent_guards(agent_id=version.agent_id).user_day_usd,
            now=now,
        ),
        amount_nano=to_nano(amount),
        task_id=str(task.id),
        session_id=str(task.session_id),
        user_key=user,
        model=model,
    )


def cost_breaker_guard(state: "RunState") -> Decision:
    plan = step_plan(state)
    model = plan.model if plan else state.version.model
    now = clock.now()
    amount = worst_case_cost(model=model, state=state, at=now)
    if amount is None:
        # Stopped rather than parked: nothing resumes it until an admin prices the model, and
        # then the task is best submitted again; the stop reason says what to do.
        logger.warning("task %s stopped: %s", state.task.id, unpriced_reason(model))
        return Decision(
            Verdict.HALT,
            guard="unpriced_model",
            reason=unpriced_reason(model),
            detail={"model": model},
        )
    reservation = spend_reservation_for(state, model=model, amount=amount, now=now)
    provider = _call_provider(state, model) if plan is not None else None
    deadline = time.monotonic() + settings.GUARD_RESERVE_WAIT_S
    context = guard_context(state)
    try:
        while True:
            rate = (
                rate_take_args(name=provider_rate_name(provider), per_minute=settings.GUARD_PROVIDER_RPM)
                if provider is not None
                else None
            )
            # A run that opens a session creates its counters from the ledger's sum (read
            # with the guard configuration) in the reservation's round trip, once.
            session_spent, context.session_spent = context.session_spent, None
            code, index, spent, reserved, rate_wait_s = cost_reserve_taking(
                reservation, now=clock.now(), rate=rate, session_spent=session_spent
            )
            if code == 1:
                if plan is not None:
                    plan.reservation = reservation
                    plan.provider_rate = (provider, rate_wait_s) if provider is not None else None
                return ALLOW
            scope = reservation.scopes[index - 1]
            detail = {
                "scope": scope.name,
                "ceiling_usd": str(scope.ceiling),
                "reservation_usd": str(Decimal(reservation.amount_nano) / NANO),
                "model": model,
            }
            # The stop detail and the guard's span reach the task's owner.
            if scope_usage_shown(scope):
                detail["spent_usd"] = str(Decimal(spent) / NANO)
                detail["reserved_usd"] = str(Decimal(reserved) / NANO)
            if code == 0:
                spent_part = f"spent {detail['spent_usd']}, " if "spent_usd" in detail else ""
                return Decision(
                    Verdict.HALT,
                    guard=f"cost_breaker_{scope.name}",
                    reason=(
                        f"the {scope.name.replace('_', '-')} cost ceiling of {scope.ceiling} USD "
                        f"leaves no room for the next call ({spent_part}"
                        f"the call may cost up to {detail['reservation_usd']})"
                    ),
                    detail=detail,
                )
            if code == -1:
                spend_scope_rebuild(scope, reservation=reservation)
                continue
            # code 2: the room is held by other steps' reservations, which settle (usually
            # far below their worst case) or expire; wait a little, then park.
            if time.monotonic() >= deadline:
                return Decision(
                    Verdict.PARK,
                    guard=f"cost_breaker_{scope.name}",
                    reason="waiting for other calls' cost reservations to settle",
                    detail=detail,
                )
            db_connection_release()
            with turn_given_back():  # the steps that would settle may be waiting for a turn
                time.sleep(_POLL_S)
    except redis.RedisError as exc:
        return Decision(
            Verdict.PARK,
            guard="cost_breaker",
            reason=f"spend cannot be metered (Redis unreachable: {exc}); parked until it is back",
            detail={"error": str(exc)},
        )


def _keys(reservation: Reservation) -> list[str]:
    keys: list[str] = []
    for scope in reservation.scopes:
        keys += [scope.key, scope.key + ":exp"]
    return keys


def _call_provider(state: "RunState", model: str) -> str | None:
    """The provider the step's call goes to, whose rate window the reservation takes from;
    None when no call is made (a recorded reply) or the model names no provider (the step
    itself reports that)."""
    if state.playback.recorded_model:
        return None
    try:
        return provider_for(model)[0].name
    except ValueError:
        return None


def cost_reserve(reservation: Reservation, *, now: datetime) -> tuple[int, int, int, int]:
    """(code, scope, spent, reserved) as cost_reserve.lua answers."""
    return cost_reserve_taking(reservation, now=now, rate=None)[:4]


def cost_reserve_rebuilt(reservation: Reservation, *, now: datetime) -> tuple[int, int, int, int]:
    """cost_reserve, each scope whose counters Redis lost rebuilt once from Postgres and the
    reservation tried again; code -1 only if the counters are still missing after that.
    Raises redis.RedisError when Redis is unreachable."""
    for _ in range(len(reservation.scopes) + 1):
        code, index, spent, reserved = cost_reserve(reservation, now=now)
        if code != -1:
            break
        spend_scope_rebuild(reservation.scopes[index - 1], reservation=reservation)
    return code, index, spent, reserved


def cost_reserve_taking(
    reservation: Reservation,
    *,
    now: datetime,
    rate: tuple[str, list[int]] | None,
    session_spent: Decimal | None = None,
) -> tuple[int, int, int, int, float]:
    """cost_reserve, also taking one request from a rate window if `rate` (rate_take_args) is
    given and the reservation was made; the last item is rate_take's answer (seconds).

    `session_spent`: the ledger's sum for the reservation's session, read just before (what
    spend_scope_rebuild reads). The session's counters are first created from it unless they
    exist (cost_init.lua), in the same round trip: a new session's first call pays one round
    trip instead of four (a refused reservation, the ledger's sum, cost_init, the retry)."""
    keys = _keys(reservation)
    argv: list[int | str] = [
        int(now.timestamp() * 1000),
        settings.GUARD_RESERVATION_TTL_S * 1000,
        reservation.id,
        reservation.amount_nano,
    ]
    argv += [to_nano(s.ceiling) if s.ceiling is not None else -1 for s in reservation.scopes]
    argv += [_KEY_TTL_MS[s.name] for s in reservation.scopes]
    if rate is not None:
        keys.append(rate[0])
        argv += rate[1]
    reserve = guard_script("cost_reserve")
    scope = reservation.scopes[0]
    if session_spent is not None and scope.name == "session":
        init = guard_script("cost_init")
        init_args = [to_nano(session_spent), _KEY_TTL_MS[scope.name]]
        # EVALSHA in one pipeline (not the scripts' own calls, which a pipeline would precede
        # with a SCRIPT EXISTS round trip); a Redis that lost its script cache answers NOSCRIPT,
        # and the scripts' own calls load them again (cost_init is a no-op the second time).
        pipe = guard_redis().pipeline(transaction=False)
        pipe.evalsha(init.sha, 1, scope.key, *init_args)
        pipe.evalsha(reserve.sha, len(keys), *keys, *argv)
        init_answer, answer = pipe.execute(raise_on_error=False)
        for result in (init_answer, answer):
            if isinstance(result, Exception) and not isinstance(result, redis.exceptions.NoScriptError):
                raise result
        if isinstance(init_answer, redis.exceptions.NoScriptError):
            init(keys=[scope.key], args=init_args)
            # A reservation that ran without the counters made nothing (-1): it runs again.
            # One that was made keeps its answer: run again, it would answer "reserved already"
            # without the rate window's wait its first run gave.
            if not isinstance(answer, Exception) and int(answer[0]) == -1:
                answer = reserve(keys=keys, args=argv)
        if isinstance(answer, redis.exceptions.NoScriptError):
            answer = reserve(keys=keys, args=argv)
    else:
        answer = reserve(keys=keys, args=argv)
    code, index, spent, reserved, rate_wait_ms = answer
    return int(code), int(index), int(spent), int(reserved), int(rate_wait_ms) / 1000


def cost_settle(reservation: Reservation, *, cost: Decimal, at: datetime) -> None:
    """Record the real cost durably, then replace the reservation by it in Redis.

    Postgres first: if Redis is gone now, the counters are rebuilt from this row later.
    """
    if cost > 0:
        _ledger_insert(reservation, cost=cost, at=at)
    cost_settle_recorded(reservation, cost=cost, at=at)


def cost_settle_recorded(reservation: Reservation, *, cost: Decimal, at: datetime) -> None:
    """Replace the reservation by the real cost in Redis, its ledger row already committed
    (spend_record_write in the caller's transaction), or for a cost of 0 (a release)."""
    alert_at = Decimal(str(settings.GUARD_ALERT_AT))
    try:
        crossed = guard_script("cost_settle")(
            keys=[*_keys(reservation), guard_key("cost", "settled", reservation.id)],
            args=[
                reservation.id,
                to_nano(cost),
                settings.GUARD_RESERVATION_TTL_S * 2000,
                *[to_nano(s.ceiling * alert_at) if s.ceiling is not None else -1 for s in reservation.scopes],
            ],
        )
    except redis.RedisError:
        # The spend is in Postgres; the reservation expires on its own.
        logger.warning("could not settle reservation %s in Redis", reservation.id, exc_info=True)
        return
    if crossed:
        _alerts_record(reservation, [reservation.scopes[int(i) - 1] for i in crossed], at=at)


def _alerts_record(reservation: Reservation, scopes: list[Scope], *, at: datetime) -> None:
    subjects = {
        "session": f"session {reservation.session_id}",
        "user_day": f"user {reservation.user_key}",
        "global_hour": "all agents",
    }
    alerts = []
    for scope in scopes:
        spent, _reserved = scope_usage(scope.key)
        assert scope.ceiling is not None  # noqa: S101 - only scopes with a ceiling alert
        alerts.append(
            GuardAlert(
                scope=scope.name,
                scope_key=scope.key,
                subject=subjects[scope.name],
                ceiling_usd=scope.ceiling,
                spent_usd=spent,
                at=at,
            )
        )
        logger.warning(
            "%s passed %s of its %s USD ceiling", subjects[scope.name], settings.GUARD_ALERT_AT, scope.ceiling
        )
    # Unique per scope and window: an alert raised again after a counter rebuild is dropped.
    GuardAlert.objects.bulk_create(alerts, ignore_conflicts=True)


def _ledger_insert(reservation: Reservation, *, cost: Decimal, at: datetime) -> None:
    """The ledger row in a transaction of its own, committed without waiting for its WAL
    flush: the caller does not wait milliseconds of fsync for it. A PostgreSQL crash can lose
    the last fraction of a second of rows (wal_writer_delay), which matters only if Redis
    loses its counters in the same instant. A step's own model call does not come here: its
    row is written with the stored reply or the checkpoint (plan_spend_record)."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        spend_record_write(reservation, cost=cost, at=at)


def spend_record_write(reservation: Reservation, *, cost: Decimal, at: datetime) -> None:
    """Insert the reservation's ledger row (once: a second write of it is ignored), in the
    caller's transaction. One plain statement: this runs on every step."""
    with connection.cursor() as cursor:
        cursor.execute(_LEDGER_INSERT, _ledger_params(reservation, cost=cost, at=at))


_LEDGER_INSERT = """
INSERT INTO guards_spendrecord (reservation, task_id, session_id, user_key, model, cost_usd, at)
VALUES (%s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (reservation) DO NOTHING
"""


def _ledger_params(reservation: Reservation, *, cost: Decimal, at: datetime) -> list[Any]:
    return [
        reservation.id,
        reservation.task_id,
        reservation.session_id,
        reservation.user_key,
        reservation.model,
        cost,
        at,
    ]


def cost_release(reservation: Reservation) -> None:
    """Give a reservation back unused (the call was not made, or failed without a bill)."""
    cost_settle(reservation, cost=Decimal(0), at=clock.now())


def spend_scope_rebuild(scope: Scope, *, reservation: Reservation) -> None:
    """Recreate a scope's counters from the spend recorded in Postgres."""
    # Hand-written: every new session comes here on its first call (its counters do not exist
    # yet), and the ORM's compiler cost several times what PostgreSQL takes (core/raw_rows.py);
    # prepared (one statement per scope): planned once per connection.
    params: list[Any]
    if scope.name == "session":
        where, params = "session_id = %s", [reservation.session_id]
    elif scope.name == "user_day":
        where = "user_key = %s AND at >= %s AND at < %s"
        params = [reservation.user_key, scope.start, scope.start + timedelta(days=1)]
    else:
        where, params = "at >= %s AND at < %s", [scope.start, scope.start + timedelta(hours=1)]
    with prepared_cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(SUM(cost_usd), 0) FROM {_LEDGER} WHERE {where}", params)  # noqa: S608
        total = Decimal(cursor.fetchone()[0])
    guard_script("cost_init")(keys=[scope.key], args=[to_nano(total), _KEY_TTL_MS[scope.name]])


_LEDGER = row_table(SpendRecord)


def scope_usage(scope_key: str) -> tuple[Decimal, Decimal]:
    """(spent, reserved) in USD for a scope's counters; zeros when it has none."""
    spent, reserved = guard_redis().hmget(scope_key, ["spent", "reserved"])
    return Decimal(int(spent or 0)) / NANO, Decimal(int(reserved or 0)) / NANO


def plan_spent(state: "RunState", *, cost: Decimal, at: datetime) -> None:
    """The step's model call was made and billed: its cost is recorded with the next write
    of the step (plan_spend_record), or on whatever way the run leaves (plan_settle)."""
    plan = step_plan(state)
    if plan is not None and plan.reservation is not None:
        plan.spent = (cost, at)


def plan_spend_record(state: "RunState") -> None:
    """Inside the transaction that stores the step (its checkpoint): the ledger row of its
    model call, so that the step pays no transaction of its own for it. Redis is settled once
    that commits (plan_settle_recorded): Postgres first, as cost_settle does."""
    insert = plan_spend_insert(state)
    if insert is not None:
        # Prepared: a second write of the row touches nothing rather than failing.
        with prepared_cursor() as cursor:
            cursor.execute(*insert)


def plan_spend_insert(state: "RunState") -> tuple[str, list[Any]] | None:
    """plan_spend_record's statement and parameters (None: no row to write), for a caller that
    sends it within a statement of its own (the stored reply's, agents/runtime/step.py)."""
    plan = step_plan(state)
    if plan is not None and plan.reservation is not None and plan.spent is not None:
        cost, at = plan.spent
        if cost > 0:
            return _LEDGER_INSERT, _ledger_params(plan.reservation, cost=cost, at=at)
    return None


def plan_settle_recorded(state: "RunState") -> None:
    """After the transaction that ran plan_spend_record committed: settle Redis."""
    plan = step_plan(state)
    if plan is not None and plan.reservation is not None and plan.spent is not None:
        cost, at = plan.spent
        cost_settle_recorded(plan.reservation, cost=cost, at=at)
        plan.reservation = None
        plan.spent = None


def plan_settle(state: "RunState") -> None:
    """Settle what the step's plan holds, now: the cost of its call if it was made and not
    yet recorded (the step's write failed or never came; the row gets a transaction of its
    own), else its reservation, given back unused. A no-op when it holds nothing."""
    plan = step_plan(state)
    if plan is None or plan.reservation is None:
        return
    reservation, spent = plan.reservation, plan.spent
    plan.reservation = plan.spent = None
    if spent is None:
        cost_release(reservation)
        return
    cost, at = spent
    try:
        if cost > 0:
            _ledger_insert(reservation, cost=cost, at=at)
    except DatabaseError:
        # Redis still counts it; only a rebuild of the counters from Postgres would miss it.
        logger.warning("could not record the spend of reservation %s", reservation.id, exc_info=True)
    cost_settle_recorded(reservation, cost=cost, at=at)
