"""The cost reservation scripts against real Redis: all scopes or none, expiry, settle once, rebuild."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from agents.guards.models import SpendRecord
from agents.guards.ratelimits import rate_take_args
from agents.guards.spend import (
    Reservation,
    Scope,
    cost_release,
    cost_reserve,
    cost_reserve_taking,
    cost_settle,
    scope_usage,
    spend_scope_rebuild,
)
from agents.guards.store import guard_key, guard_redis, guard_script
from tests.support.races import race

pytestmark = pytest.mark.django_db(transaction=True)

NOW = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)


def scopes(session_ceiling: str, user_ceiling: str = "1000", hour_ceiling: str = "1000") -> tuple[Scope, ...]:
    return (
        Scope("session", guard_key("cost", "session", "s1"), Decimal(session_ceiling), NOW),
        Scope(
            "user_day",
            guard_key("cost", "user", "u1", "20260301"),
            Decimal(user_ceiling),
            NOW.replace(hour=0),
        ),
        Scope(
            "global_hour",
            guard_key("cost", "global", "2026030112"),
            Decimal(hour_ceiling),
            NOW.replace(minute=0),
        ),
    )


def reservation(amount_usd: str, scope_set: tuple[Scope, ...], session: str = "") -> Reservation:
    return Reservation(
        id=uuid.uuid4().hex,
        scopes=scope_set,
        amount_nano=int(Decimal(amount_usd) * 10**9),
        task_id=str(uuid.uuid4()),
        session_id=session or str(uuid.UUID(int=1)),
        user_key="u1",
        model="sim/x",
    )


def ready(scope_set: tuple[Scope, ...]) -> None:
    """Counters exist (as after a first rebuild from an empty ledger)."""
    r = reservation("0", scope_set)
    for scope in scope_set:
        spend_scope_rebuild(scope, reservation=r)


def test_a_call_reserves_in_every_scope_and_settles_to_its_real_cost():
    s = scopes("1")
    ready(s)
    r = reservation("0.30", s)

    assert cost_reserve(r, now=NOW)[0] == 1
    assert all(scope_usage(scope.key) == (Decimal(0), Decimal("0.3")) for scope in s)

    cost_settle(r, cost=Decimal("0.012345678912"), at=NOW)

    # Rounded up to the nano-dollar: a counter never shows less than was spent.
    assert all(scope_usage(scope.key) == (Decimal("0.012345679"), Decimal(0)) for scope in s)
    assert SpendRecord.objects.get().cost_usd == Decimal("0.012345678912")


def test_a_reservation_takes_its_calls_rate_request_in_the_same_round_trip_and_a_refusal_none():
    s = scopes("1")
    ready(s)
    with time_machine.travel(NOW + timedelta(seconds=15), tick=False):
        rate = rate_take_args(name="provider:reserve-test", per_minute=2)
        made = [cost_reserve_taking(reservation("0.10", s), now=NOW, rate=rate) for _ in range(3)]
        refused = cost_reserve_taking(reservation("2", s), now=NOW, rate=rate)

    # Every reservation is made; the third finds the window full: 45 s until it ends.
    assert [(answer[0], answer[4]) for answer in made] == [(1, 0.0), (1, 0.0), (1, 45.0)]
    assert refused[0] == 0
    assert int(guard_redis().get(rate[0])) == 3  # the refused call took no request


def test_settling_the_same_reservation_twice_counts_it_once():
    s = scopes("1")
    ready(s)
    r = reservation("0.30", s)
    cost_reserve(r, now=NOW)

    cost_settle(r, cost=Decimal("0.10"), at=NOW)
    cost_settle(r, cost=Decimal("0.10"), at=NOW)

    assert scope_usage(s[0].key) == (Decimal("0.1"), Decimal(0))
    assert SpendRecord.objects.count() == 1


def test_real_spend_that_leaves_no_room_refuses_but_other_reservations_only_make_it_wait():
    s = scopes("1")
    ready(s)
    first = reservation("0.60", s)
    assert cost_reserve(first, now=NOW)[0] == 1

    # 0.60 is held by a call in flight: there is room once it settles, so wait (2), not refuse.
    code, index, spent, reserved = cost_reserve(reservation("0.60", s), now=NOW)
    assert (code, index, spent, reserved) == (2, 1, 0, 600_000_000)

    cost_settle(first, cost=Decimal("0.50"), at=NOW)
    # Now 0.50 is really spent: another 0.60 could pass the ceiling, so refuse (0).
    assert cost_reserve(reservation("0.60", s), now=NOW)[0] == 0
    assert cost_reserve(reservation("0.50", s), now=NOW)[0] == 1


def test_the_tightest_scope_decides_and_nothing_is_reserved_when_one_refuses():
    s = scopes("10", user_ceiling="0.50")
    ready(s)

    code, index, _spent, _reserved = cost_reserve(reservation("0.60", s), now=NOW)

    assert (code, s[index - 1].name) == (0, "user_day")
    assert all(scope_usage(scope.key) == (Decimal(0), Decimal(0)) for scope in s)


def test_a_reservation_whose_step_died_is_released_by_expiry(settings):
    settings.GUARD_RESERVATION_TTL_S = 60
    s = scopes("1")
    ready(s)
    assert cost_reserve(reservation("0.90", s), now=NOW)[0] == 1  # its step never settles
    assert cost_reserve(reservation("0.90", s), now=NOW + timedelta(seconds=59))[0] == 2

    assert cost_reserve(reservation("0.90", s), now=NOW + timedelta(seconds=61))[0] == 1
    assert scope_usage(s[0].key) == (Decimal(0), Decimal("0.9"))


def test_released_reservations_cost_nothing():
    s = scopes("1")
    ready(s)
    r = reservation("0.90", s)
    cost_reserve(r, now=NOW)

    cost_release(r)

    assert scope_usage(s[0].key) == (Decimal(0), Decimal(0))
    assert not SpendRecord.objects.exists()


def test_counters_lost_by_redis_are_rebuilt_from_the_ledger_in_postgres():
    s = scopes("1")
    ready(s)
    session = str(uuid.UUID(int=1))
    for cost in ("0.25", "0.35"):
        r = reservation("0.40", s, session=session)
        cost_reserve(r, now=NOW)
        cost_settle(r, cost=Decimal(cost), at=NOW)
    guard_redis().delete(*[scope.key for scope in s])

    r = reservation("0.30", s, session=session)
    assert cost_reserve(r, now=NOW)[0] == -1  # lost: the caller rebuilds
    for scope in s:
        spend_scope_rebuild(scope, reservation=r)

    assert scope_usage(s[0].key) == (Decimal("0.6"), Decimal(0))
    assert cost_reserve(r, now=NOW)[0] == 1
    assert cost_reserve(reservation("0.20", s), now=NOW)[0] == 2  # 0.60 spent + 0.30 held + 0.20 > 1
    assert cost_reserve(reservation("0.45", s), now=NOW)[0] == 0  # 0.60 spent + 0.45 > 1


def test_concurrent_reservations_never_exceed_the_ceiling():
    """40 threads reserve $0.10 each against a $1 ceiling at once: exactly ten get through."""
    s = scopes("1")
    ready(s)
    codes = race(*[lambda: cost_reserve(reservation("0.10", s), now=NOW)[0]] * 40, expected=())

    assert codes.count(1) == 10
    assert codes.count(2) == 30
    assert scope_usage(s[0].key) == (Decimal(0), Decimal("1"))


def test_passing_80_percent_of_a_ceiling_raises_one_alert_per_scope_and_window():
    from agents.guards.models import GuardAlert

    s = scopes("1", user_ceiling="10", hour_ceiling="10")
    ready(s)
    for cost in ("0.70", "0.15", "0.05"):  # 0.70, then 0.85 (past 0.80), then 0.90
        r = reservation("0.10", s)
        cost_reserve(r, now=NOW)
        cost_settle(r, cost=Decimal(cost), at=NOW)

    alert = GuardAlert.objects.get()
    assert (alert.scope, alert.ceiling_usd, alert.spent_usd) == ("session", Decimal(1), Decimal("0.85"))


def test_a_new_sessions_counters_are_created_with_its_first_reservation():
    """A run that opens a session passes the ledger's sum for it (read with its guard
    configuration): the session's counters are created from it and the call reserved in one
    round trip, where a reservation without it is refused as missing counters (-1)."""
    s = scopes("1")
    ready(s[1:])  # the user's day and the hour have counters; the new session has none
    assert cost_reserve(reservation("0.30", s), now=NOW)[0] == -1

    r = reservation("0.30", s)
    assert cost_reserve_taking(r, now=NOW, rate=None, session_spent=Decimal("0.60"))[0] == 1

    assert scope_usage(s[0].key) == (Decimal("0.6"), Decimal("0.3"))
    assert cost_reserve(reservation("0.20", s), now=NOW)[0] == 2  # 0.60 spent + 0.30 held + 0.20 > 1


def test_a_sessions_counters_that_exist_are_not_created_again():
    """The sum read before the reservation never overwrites or adds to counters another run
    created meanwhile (cost_init.lua is a no-op on a scope that exists)."""
    s = scopes("1")
    ready(s)
    first = reservation("0.40", s)
    cost_reserve(first, now=NOW)
    cost_settle(first, cost=Decimal("0.25"), at=NOW)

    assert (
        cost_reserve_taking(reservation("0.10", s), now=NOW, rate=None, session_spent=Decimal("0.90"))[0] == 1
    )

    assert scope_usage(s[0].key) == (Decimal("0.25"), Decimal("0.1"))


def test_the_first_reservation_of_a_session_survives_a_redis_that_lost_its_scripts(monkeypatch):
    """The pipelined EVALSHAs answer NOSCRIPT after Redis emptied its script cache (a restart;
    here, digests it never loaded): the scripts are loaded again and the reservation made, the
    counters created once."""
    s = scopes("1")
    ready(s[1:])
    for name in ("cost_init", "cost_reserve"):
        monkeypatch.setattr(guard_script(name), "sha", "0" * 40)

    code = cost_reserve_taking(reservation("0.30", s), now=NOW, rate=None, session_spent=Decimal("0.50"))[0]

    assert code == 1
    assert scope_usage(s[0].key) == (Decimal("0.5"), Decimal("0.3"))


def test_a_reservation_made_beside_a_lost_cost_init_keeps_its_rate_wait(monkeypatch):
    """Only cost_init answers NOSCRIPT in the pipeline (its digest missing from the cache while
    cost_reserve's is there): the reservation it ran beside was made, with the rate window's
    wait, and is not run again (a second run answers "reserved already" with no wait)."""
    s = scopes("1")
    ready(s)
    with time_machine.travel(NOW + timedelta(seconds=15), tick=False):
        rate = rate_take_args(name="provider:lost-init", per_minute=1)
        assert cost_reserve_taking(reservation("0.10", s), now=NOW, rate=rate)[4] == 0.0
        monkeypatch.setattr(guard_script("cost_init"), "sha", "0" * 40)
        answer = cost_reserve_taking(reservation("0.10", s), now=NOW, rate=rate, session_spent=Decimal(0))

    assert (answer[0], answer[4]) == (1, 45.0)  # the window is full: 45 s until it ends
    assert int(guard_redis().get(rate[0])) == 2
    assert scope_usage(s[0].key) == (Decimal(0), Decimal("0.2"))


def test_a_reservation_refused_for_counters_a_lost_cost_init_did_not_create_runs_again(monkeypatch):
    """cost_init answers NOSCRIPT and the reservation beside it found no counters (-1): the
    counters are created from the ledger's sum, then the reservation made."""
    s = scopes("1")
    ready(s[1:])
    monkeypatch.setattr(guard_script("cost_init"), "sha", "0" * 40)

    code = cost_reserve_taking(reservation("0.30", s), now=NOW, rate=None, session_spent=Decimal("0.50"))[0]

    assert code == 1
    assert scope_usage(s[0].key) == (Decimal("0.5"), Decimal("0.3"))
