"""The budget API over the runtime's cost breaker: reserve, settle once, shared user budgets."""

import uuid
from decimal import Decimal

import pytest

from agents.guards.models import SpendRecord
from agents.guards.spend import (
    Reservation,
    cost_reserve,
    cost_settle,
    owner_user_key,
    scope_usage,
    scopes_for,
    session_user_key,
)
from agents.guards.store import guard_key
from agents.models import Session
from core import clock
from tests.agents.guards.conftest import guard_prefix  # noqa: F401 - autouse: counters of this test's own
from tests.conftest import _api_client
from tests.factories import make_agent
from tests.support.races import race

pytestmark = pytest.mark.django_db(transaction=True)


def reserve(client, amount: str, session: str = "conv-1", **fields):
    body = {"agent": "outside", "session": session, "amount_usd": amount, **fields}
    return client.post("/api/v1/budget/reserve", body, content_type="application/json")


def settle(client, reservation: str, cost: str):
    body = {"reservation": reservation, "cost_usd": cost}
    return client.post("/api/v1/budget/settle", body, content_type="application/json")


def test_reserve_then_settle_records_the_real_cost_once(requester_api):
    answer = reserve(requester_api, "0.50", model="openai/gpt-4o").json()
    assert answer["decision"] == "reserved"
    for _ in range(2):  # a retried settle counts once
        response = settle(requester_api, answer["reservation"], "0.123456789012")
        assert response.status_code == 200, response.content
    record = SpendRecord.objects.get()
    assert record.cost_usd == Decimal("0.123456789012")
    session = Session.objects.get(external_id="conv-1")
    assert str(record.session_id) == str(session.pk)
    scope = scopes_for(
        session_id=session.pk,
        session_start=session.created_at,
        session_ceiling=None,
        user="x",
        user_day_ceiling=None,
        now=clock.now(),
    )[0]
    assert scope_usage(scope.key) == (Decimal("0.123456790"), Decimal(0))  # rounded up to nano-USD


def user_day(user_key: str) -> tuple[Decimal, Decimal]:
    """(spent, reserved) of a user-day key today."""
    return scope_usage(guard_key("cost", "user", user_key, f"{clock.now():%Y%m%d}"))


@pytest.mark.parametrize("end_user", ["", "alice"])
def test_a_users_internal_and_external_spend_share_one_daily_budget(
    requester, requester_api, settings, end_user
):
    """The account's own runs and its budget calls share its day; so do an end user's runs
    and the budget calls that name that end user."""
    settings.GUARD_USER_DAY_USD = Decimal("1")
    agent = make_agent("inside", model="sim/echo")
    session = Session.objects.create(
        agent=agent, agent_version=agent.current_version, owner=requester, end_user=end_user
    )
    # Internal work, under the key and through the scopes the runtime's cost breaker uses.
    internal = Reservation(
        id=uuid.uuid4().hex,
        scopes=scopes_for(
            session_id=session.pk,
            session_start=session.created_at,
            session_ceiling=Decimal("5"),
            user=session_user_key(session),
            user_day_ceiling=Decimal("1"),
            now=clock.now(),
        ),
        amount_nano=600_000_000,
        task_id=str(uuid.uuid4()),
        session_id=str(session.pk),
        user_key=session_user_key(session),
        model="sim/x",
    )
    assert cost_reserve(internal, now=clock.now())[0] in (1, -1)
    cost_settle(internal, cost=Decimal("0.6"), at=clock.now())
    refused = reserve(requester_api, "0.5", user=end_user).json()
    assert (refused["decision"], refused["scope"]) == ("refused", "user_day")
    assert Decimal(refused["spent_usd"]) == Decimal("0.6")
    assert reserve(requester_api, "0.3", user=end_user).json()["decision"] == "reserved"


def test_no_caller_names_another_accounts_day(requester, outsider, settings):
    """A `user` is an end user of the caller's own account, whatever it is named: naming
    another account's key (`owner-<pk>`) or its end user reaches neither's day nor figures."""
    settings.GUARD_USER_DAY_USD = Decimal("5")
    victim, attacker = _api_client(requester), _api_client(outsider)
    mine = reserve(victim, "1.5").json()
    assert settle(victim, mine["reservation"], "1.25").status_code == 200
    assert reserve(victim, "0.5", user="alice").json()["decision"] == "reserved"

    for name in (f"owner-{requester.pk}", "alice"):
        peek = reserve(attacker, "4.9", session=f"peek-{name}", user=name).json()  # > the victim's room
        assert peek["decision"] == "reserved", peek
        assert settle(attacker, peek["reservation"], "4.9").status_code == 200

    assert user_day(f"owner-{requester.pk}") == (Decimal("1.25"), Decimal(0))
    assert user_day(f"owner-{requester.pk}/alice") == (Decimal(0), Decimal("0.5"))
    assert user_day(f"owner-{outsider.pk}/owner-{requester.pk}") == (Decimal("4.9"), Decimal(0))
    assert (
        reserve(victim, "3.75", session="conv-2").json()["decision"] == "reserved"
    )  # all its day is its own
    assert set(SpendRecord.objects.filter(cost_usd=Decimal("4.9")).values_list("user_key", flat=True)) == {
        f"owner-{outsider.pk}/owner-{requester.pk}",
        f"owner-{outsider.pk}/alice",
    }


def test_an_end_users_key_stays_under_its_account():
    assert owner_user_key(owner_id=7) == "owner-7"
    assert owner_user_key(owner_id=7, end_user="owner-5") == "owner-7/owner-5"
    # The account's pk ends at the '/': no end user of account 7 is one of account 75's keys.
    assert not owner_user_key(owner_id=7, end_user="5").startswith("owner-75")


def test_a_settle_above_the_reserved_amount_is_refused_and_counts_nothing(requester, requester_api, settings):
    settings.GUARD_GLOBAL_HOUR_USD = Decimal("200")
    held = reserve(requester_api, "0").json()
    response = settle(requester_api, held["reservation"], "150")
    assert response.status_code == 422, response.content
    assert response.json()["error"]["field"] == "cost_usd"
    global_hour = guard_key("cost", "global", f"{clock.now():%Y%m%d%H}")
    assert scope_usage(global_hour)[0] == 0
    assert user_day(f"owner-{requester.pk}")[0] == 0
    assert not SpendRecord.objects.exists()
    assert settle(requester_api, held["reservation"], "0").status_code == 200

    held = reserve(requester_api, "0.5").json()
    assert settle(requester_api, held["reservation"], "0.500000000001").status_code == 422
    assert settle(requester_api, held["reservation"], "0.5").status_code == 200
    assert settle(requester_api, held["reservation"], "0.6").status_code == 422  # not even once settled
    assert scope_usage(global_hour) == (Decimal("0.5"), Decimal(0))


def test_concurrent_settles_of_one_reservation_count_once_and_never_above_it(requester):
    costs = ["0.4", "0.5", "90"]
    clients = [_api_client(requester) for _ in costs]
    held = reserve(clients[0], "0.5").json()
    codes = race(
        *(
            lambda c=c, cost=cost: settle(c, held["reservation"], cost).status_code
            for c, cost in zip(clients, costs, strict=True)
        )
    )
    assert codes == [200, 200, 422]
    spent, reserved = user_day(f"owner-{requester.pk}")
    assert (spent in (Decimal("0.4"), Decimal("0.5")), reserved) == (True, Decimal(0))
    assert SpendRecord.objects.count() == 1


def test_a_refusal_in_the_global_hour_shows_no_others_spend(requester_api, outsider_api, settings):
    settings.GUARD_GLOBAL_HOUR_USD = Decimal("1")
    theirs = reserve(outsider_api, "0.9").json()
    assert settle(outsider_api, theirs["reservation"], "0.9").status_code == 200
    refused = reserve(requester_api, "0.5").json()
    assert (refused["decision"], refused["scope"]) == ("refused", "global_hour")
    assert (refused["spent_usd"], refused["reserved_usd"]) == (None, None)
    assert Decimal(refused["ceiling_usd"]) == Decimal("1")


def test_two_reserves_for_the_last_room_get_it_once(requester, settings):
    settings.GUARD_USER_DAY_USD = Decimal("1")
    user = f"bob-{uuid.uuid4().hex[:6]}"
    clients = [_api_client(requester), _api_client(requester)]
    reserve(clients[0], "0", user=user)  # counters exist
    answers = race(*(lambda c=c: reserve(c, "0.7", user=user).json() for c in clients))
    assert sorted(a["decision"] for a in answers) == ["reserved", "wait"]


def test_another_users_reservation_cannot_be_settled(requester_api, outsider_api):
    answer = reserve(requester_api, "0.1").json()
    assert settle(outsider_api, answer["reservation"], "0.1").status_code == 404
    assert settle(requester_api, "ext:nope", "0.1").status_code == 404


@pytest.mark.parametrize("amount", ["-1", "NaN", "Infinity", "1e400", "0.0000000000001", "100001", "abc"])
def test_hostile_amounts_are_refused(requester_api, amount):
    response = reserve(requester_api, amount)
    assert response.status_code == 422, response.content
