"""One pagination style (core.pagination): cursors over (created, id), newest first, `next` links."""

import threading
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from agents.models import Session, Task
from core.pagination import MAX_LIMIT
from tests.factories import make_agent

URL = "/api/v1/tasks"


def make_session(owner: User, end_user: str = "") -> Session:
    agent = make_agent("pager", model="sim/echo")
    return Session.objects.create(
        agent=agent, agent_version=agent.current_version, owner=owner, end_user=end_user
    )


def make_tasks(session: Session, count: int, **fields) -> list[Task]:
    return [
        Task.objects.create(session=session, owner=session.owner, input=f"t{i}", **fields)
        for i in range(count)
    ]


def walk(client, url: str, params: dict | None = None) -> list[str]:
    seen: list[str] = []
    response = client.get(url, params or {})
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        seen += [item["id"] for item in body["items"]]
        if body["next"] is None:
            return seen
        response = client.get(body["next"])


def test_pages_come_newest_first_and_every_row_once(requester_api, requester):
    session = make_session(requester)
    tasks = make_tasks(session, 23)
    # Equal timestamps: the id decides, so a page boundary inside a tie loses nothing.
    Task.objects.filter(pk__in=[t.pk for t in tasks[5:15]]).update(created_at=tasks[5].created_at)

    seen = walk(requester_api, URL, {"limit": 4})

    expected = Task.objects.order_by("-created_at", "-id").values_list("id", flat=True)
    assert seen == [str(pk) for pk in expected]
    assert len(set(seen)) == 23


def test_next_keeps_the_filters_and_oldest_first_reverses(requester_api, requester):
    session = make_session(requester)
    make_tasks(session, 5, status=Task.Status.SUCCEEDED)
    make_tasks(session, 3, status=Task.Status.FAILED)

    first = requester_api.get(URL, {"status": "succeeded", "limit": 2, "order": "oldest"}).json()

    assert "status=succeeded" in first["next"]
    assert "order=oldest" in first["next"]
    seen = walk(requester_api, URL, {"status": "succeeded", "limit": 2, "order": "oldest"})
    expected = (
        Task.objects.filter(status="succeeded").order_by("created_at", "id").values_list("id", flat=True)
    )
    assert seen == [str(pk) for pk in expected]


def test_rows_inserted_between_pages_are_never_seen_twice_nor_skip_others(requester_api, requester):
    session = make_session(requester)
    before = {str(t.pk) for t in make_tasks(session, 12)}
    seen: list[str] = []
    response = requester_api.get(URL, {"limit": 5})
    while True:
        body = response.json()
        seen += [item["id"] for item in body["items"]]
        # New rows at the top, and one at the very timestamp of the cursor row.
        make_tasks(session, 2)
        last = Task.objects.get(pk=seen[-1])
        tie = make_tasks(session, 1)[0]
        Task.objects.filter(pk=tie.pk).update(created_at=last.created_at)
        if body["next"] is None:
            break
        response = requester_api.get(body["next"])

    assert len(seen) == len(set(seen))
    assert before <= set(seen)


@pytest.mark.django_db(transaction=True)
def test_paging_while_another_connection_commits_inserts(requester_api, requester):
    """A real race: a second thread commits rows, one at a time, while a client pages."""
    session = make_session(requester)
    before = {str(t.pk) for t in make_tasks(session, 40)}
    stop = threading.Event()
    seen: list[str] = []

    def insert() -> None:
        from django.db import connection

        try:
            while not stop.is_set():
                make_tasks(session, 1)
                time.sleep(0.002)
        finally:
            connection.close()

    inserter = threading.Thread(target=insert)
    inserter.start()
    try:
        seen = walk(requester_api, URL, {"limit": 3})
    finally:
        stop.set()
        inserter.join()

    assert Task.objects.count() > 40  # the inserter did run alongside
    assert len(seen) == len(set(seen))
    assert before <= set(seen)


def test_created_range_filters(requester_api, requester):
    session = make_session(requester)
    old, mid, _new = make_tasks(session, 3)
    now = timezone.now()
    Task.objects.filter(pk=old.pk).update(created_at=now - timedelta(days=3))
    Task.objects.filter(pk=mid.pk).update(created_at=now - timedelta(days=1))

    params = {
        "created_after": (now - timedelta(days=2)).isoformat(),
        "created_before": (now - timedelta(hours=1)).isoformat(),
    }
    assert walk(requester_api, URL, params) == [str(mid.pk)]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "WyIyMDI2LTAxLTAxIiwgIjEiXQ:forged"}, "cursor"),
        ({"limit": MAX_LIMIT + 1}, "limit"),
        ({"limit": 0}, "limit"),
        ({"order": "sideways"}, "order"),
        ({"created_after": "2026-01-01T00:00:00"}, "created_after"),  # no time zone
        ({"created_after": "0001-01-01T00:00:00+14:00"}, "created_after"),
    ],
)
def test_bad_paging_parameters_are_422(requester_api, requester, params, field):
    make_session(requester)

    response = requester_api.get(URL, params)

    assert response.status_code == 422, response.content
    assert response.json()["error"]["field"] == field


def test_a_cursor_whose_id_does_not_fit_the_list_is_refused(requester_api, requester):
    session = make_session(requester)
    make_tasks(session, 3)
    cursor = parse_qs(urlsplit(requester_api.get(URL, {"limit": 1}).json()["next"]).query)["cursor"][0]

    assert requester_api.get(URL, {"cursor": cursor}).status_code == 200
    # A task cursor holds a uuid; tokens page on integers.
    assert requester_api.get("/api/v1/tokens", {"cursor": cursor}).json()["error"]["field"] == "cursor"
