"""Searching sessions by user, stop reason, cost range and creation date on the sessions list."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from agents.models import Session, Task
from agents.services.tasks import task_submit
from tests.factories import make_agent


@pytest.fixture
def sessions(db, requester, time_machine) -> dict[str, Session]:
    make_agent("support-bot", model="sim/refund")
    other = User.objects.create_user("other")
    made = {}
    specs = [
        ("cheap", requester, "alice", "0.01", "completed", datetime(2026, 5, 1, 9, tzinfo=UTC)),
        ("dear", requester, "bob", "2.50", "token_budget", datetime(2026, 5, 2, 9, tzinfo=UTC)),
        ("others", other, "alice", "0.40", "completed", datetime(2026, 5, 3, 9, tzinfo=UTC)),
    ]
    for name, owner, end_user, cost, stop, at in specs:
        time_machine.move_to(at, tick=False)
        task, _ = task_submit(owner=owner, agent_name="support-bot", input="go", end_user=end_user)
        # Two tasks in one session: the cost range applies to the session's sum.
        second, _ = task_submit(
            owner=owner, agent_name="support-bot", input="again", session_id=task.session_id
        )
        half = Decimal(cost) / 2
        Task.objects.filter(pk__in=[task.pk, second.pk]).update(cost_usd=half, stop_reason=stop)
        made[name] = task.session
    time_machine.move_to(datetime(2026, 5, 4, 9, tzinfo=UTC) + timedelta(hours=1), tick=False)
    return made


def _found(client, **query) -> set[str]:
    response = client.get(reverse("console:sessions"), query)
    assert response.status_code == 200
    return {str(session.id) for session in response.context["page"]}


def _ids(sessions, *names) -> set[str]:
    return {str(sessions[name].id) for name in names}


def test_by_user_matches_the_owner_or_the_end_user(client, reviewer, sessions):
    client.force_login(reviewer)

    assert _found(client, user="alice") == _ids(sessions, "cheap", "others")
    assert _found(client, user="other") == _ids(sessions, "others")


def test_by_stop_reason_without_multiplying_the_sums(client, reviewer, sessions):
    client.force_login(reviewer)

    response = client.get(reverse("console:sessions"), {"stop_reason": "token_budget"})

    [dear] = response.context["page"]
    assert str(dear.id) == str(sessions["dear"].id)
    assert (dear.task_count, dear.total_cost) == (2, Decimal("2.50"))


def test_by_cost_range_on_the_sessions_sum(client, reviewer, sessions):
    client.force_login(reviewer)

    assert _found(client, cost_min="0.3", cost_max="1") == _ids(sessions, "others")
    assert _found(client, cost_min="1") == _ids(sessions, "dear")


def test_by_creation_date(client, reviewer, sessions):
    client.force_login(reviewer)

    assert _found(client, created_from="2026-05-02") == _ids(sessions, "dear", "others")
    assert _found(client, created_from="2026-05-02", created_to="2026-05-02") == _ids(sessions, "dear")


def test_filters_never_widen_what_a_user_may_see(client, requester, sessions):
    client.force_login(requester)

    assert _found(client, user="alice") == _ids(sessions, "cheap")


def test_invalid_values_are_ignored_with_a_note_never_a_500(client, reviewer, sessions):
    client.force_login(reviewer)

    response = client.get(reverse("console:sessions"), {"cost_min": "lots", "created_from": "yesterday"})

    assert response.status_code == 200
    assert len(response.context["page"]) == 3
    assert "Ignored:" in response.content.decode()


def test_the_list_keeps_a_constant_number_of_queries(
    client, reviewer, sessions, django_assert_max_num_queries
):
    client.force_login(reviewer)

    with django_assert_max_num_queries(7):
        client.get(
            reverse("console:sessions"), {"user": "alice", "stop_reason": "completed", "cost_min": "0"}
        )
