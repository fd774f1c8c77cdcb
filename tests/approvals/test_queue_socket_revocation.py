"""Open sockets lose what their user lost (issue 10, finding 2), through the real Redis layer.

A reviewer who is logged out, deactivated or removed from the reviewer groups stops hearing
requests and their socket closes, whether the change comes with a signal (console, admin,
shell) or without one (QuerySet.update(): the first event after the access check's max age).
"""

import asyncio
from collections.abc import Callable
from datetime import timedelta

import pytest
import time_machine
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from agents.services.tasks import task_submit
from approvals.live import action_request_publish
from approvals.models import ActionRequest, PolicyRule
from console.asgi import application
from console.revocation import CLOSE_FORBIDDEN, SOCKET_ACCESS_MAX_AGE_S
from core import clock
from tests.approvals.conftest import make_request
from tests.factories import make_agent

pytestmark = pytest.mark.django_db(transaction=True)

# The task: a revoked socket closes "within a second or so" of the change.
REVOCATION_DEADLINE_S = 2.0


class Socket:
    """A socket opened with a fresh login of `user`, and the HTTP client holding that session."""

    def __init__(self, user: User, path: str = "/ws/approvals/") -> None:
        self.client = Client()
        self.client.force_login(user)
        cookie = f"{settings.SESSION_COOKIE_NAME}={self.client.cookies[settings.SESSION_COOKIE_NAME].value}"
        self.communicator = WebsocketCommunicator(
            application, path, headers=[(b"origin", b"http://localhost"), (b"cookie", cookie.encode())]
        )

    async def open(self) -> None:
        connected, _ = await self.communicator.connect()
        assert connected

    async def closed_code(self) -> int:
        """The close code the server sends within the deadline (any message before it fails)."""
        output = await self.communicator.receive_output(timeout=REVOCATION_DEADLINE_S)
        assert output["type"] == "websocket.close", output
        return output["code"]


def in_thread(action: Callable[[], object]) -> Callable[[], object]:
    """A database change from another thread (its own connection), as from another request."""

    def run() -> object:
        try:
            return action()
        finally:
            connection.close()

    return run


def publish(request: ActionRequest, event: str = "changed") -> None:
    action_request_publish(request_id=request.pk, event=event)


def deactivate(user: User) -> None:
    user.is_active = False
    user.save()


def leave_reviewers(user: User) -> None:
    user.groups.remove(Group.objects.get(name="reviewers"))


def change_password(user: User) -> None:
    user.set_password("another-pass")
    user.save()


def reviewers_cleared(user: User) -> None:
    Group.objects.get(name="reviewers").user_set.clear()


def reviewers_deleted(user: User) -> None:
    Group.objects.get(name="reviewers").delete()


REVOCATIONS = [
    deactivate,
    leave_reviewers,
    change_password,
    reviewers_cleared,
    reviewers_deleted,
    User.delete,
]


@pytest.mark.parametrize("revoke", REVOCATIONS)
def test_a_reviewer_who_loses_access_stops_hearing_requests_and_the_socket_closes(
    requester, reviewer, revoke
):
    request = make_request(requester)
    socket = Socket(reviewer)

    async def scenario() -> int:
        await socket.open()
        await asyncio.to_thread(in_thread(lambda: publish(request)))
        heard = await socket.communicator.receive_json_from(timeout=5)
        assert heard["request"]["arguments"] == {"i": 1}  # it did hear while it was allowed
        await asyncio.to_thread(in_thread(lambda: revoke(reviewer)))
        code = await socket.closed_code()
        await asyncio.to_thread(in_thread(lambda: publish(request)))
        assert await socket.communicator.receive_nothing(timeout=0.5)
        return code

    assert async_to_sync(scenario)() == CLOSE_FORBIDDEN


def test_logging_out_closes_that_sessions_socket_and_no_other(requester, reviewer):
    request = make_request(requester)
    leaving, staying = Socket(reviewer), Socket(reviewer)

    async def scenario() -> int:
        await leaving.open()
        await staying.open()
        response = await asyncio.to_thread(in_thread(lambda: leaving.client.post("/logout/")))
        assert response.status_code == 302
        code = await leaving.closed_code()
        await asyncio.to_thread(in_thread(lambda: publish(request)))
        heard = await staying.communicator.receive_json_from(timeout=5)
        assert heard["request"]["id"] == str(request.id)
        await staying.communicator.disconnect()
        return code

    assert async_to_sync(scenario)() == CLOSE_FORBIDDEN


def test_an_admin_who_unticks_a_reviewers_groups_in_the_admin_closes_their_socket(requester, reviewer, admin):
    socket = Socket(reviewer)
    boss = Client()
    boss.force_login(admin)
    form = {
        "username": reviewer.username,
        "is_active": "on",
        "date_joined_0": reviewer.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": reviewer.date_joined.strftime("%H:%M:%S"),
        "initial-date_joined_0": reviewer.date_joined.strftime("%Y-%m-%d"),
        "initial-date_joined_1": reviewer.date_joined.strftime("%H:%M:%S"),
    }

    async def scenario() -> int:
        await socket.open()
        response = await asyncio.to_thread(
            in_thread(lambda: boss.post(f"/admin/auth/user/{reviewer.pk}/change/", form))
        )
        assert response.status_code == 302, response.content.decode()[:2000]
        return await socket.closed_code()

    assert async_to_sync(scenario)() == CLOSE_FORBIDDEN
    assert not reviewer.groups.exists()


def test_the_revocation_goes_out_only_after_the_change_commits(reviewer):
    socket = Socket(reviewer)

    async def scenario() -> int:
        await socket.open()
        written, commit = asyncio.Event(), asyncio.Event()
        loop = asyncio.get_running_loop()

        def deactivate_in_a_transaction() -> None:
            with transaction.atomic():
                deactivate(reviewer)
                loop.call_soon_threadsafe(written.set)
                asyncio.run_coroutine_threadsafe(commit.wait(), loop).result(10)

        writer = asyncio.create_task(asyncio.to_thread(in_thread(deactivate_in_a_transaction)))
        await written.wait()
        assert await socket.communicator.receive_nothing(timeout=0.5)  # still uncommitted
        commit.set()
        await writer
        return await socket.closed_code()

    assert async_to_sync(scenario)() == CLOSE_FORBIDDEN


def test_leaving_one_of_two_groups_narrows_what_the_socket_hears(requester, reviewer):
    finance = Group.objects.create(name="finance")
    reviewer.groups.add(finance)
    PolicyRule.objects.create(tool="*", tier="high", reviewer_group="finance", priority=-5)
    general, money = make_request(requester), make_request(requester, call_index=1, reviewer_group="finance")
    socket = Socket(reviewer)

    async def scenario() -> list[str]:
        await socket.open()
        await asyncio.to_thread(in_thread(lambda: reviewer.groups.remove(finance)))
        await asyncio.sleep(0.5)  # the revocation re-check: this socket stays open
        await asyncio.to_thread(in_thread(lambda: publish(money)))
        await asyncio.to_thread(in_thread(lambda: publish(general)))
        heard = await socket.communicator.receive_json_from(timeout=5)
        assert await socket.communicator.receive_nothing(timeout=0.5)
        await socket.communicator.disconnect()
        return [heard["request"]["id"]]

    assert async_to_sync(scenario)() == [str(general.id)]


def _remove_memberships_without_signals(user: User) -> None:
    User.groups.through.objects.filter(user=user).delete()


def _deactivate_without_signals(user: User) -> None:
    User.objects.filter(pk=user.pk).update(is_active=False)


def past_the_access_max_age() -> time_machine.travel:
    return time_machine.travel(clock.now() + timedelta(seconds=SOCKET_ACCESS_MAX_AGE_S + 1))


@pytest.mark.parametrize("revoke", [_remove_memberships_without_signals, _deactivate_without_signals])
def test_a_change_without_a_signal_is_caught_before_a_request_is_sent_past_the_max_age(
    requester, reviewer, revoke
):
    request = make_request(requester)
    socket = Socket(reviewer)

    async def scenario() -> int:
        await socket.open()
        await asyncio.to_thread(in_thread(lambda: revoke(reviewer)))
        assert await socket.communicator.receive_nothing(timeout=0.3)  # nothing told it yet
        with past_the_access_max_age():
            await asyncio.to_thread(in_thread(lambda: publish(request)))
            return await socket.closed_code()  # the request itself is never sent

    assert async_to_sync(scenario)() == CLOSE_FORBIDDEN


def test_a_pushed_event_reads_nothing_from_the_database_until_the_access_check_is_stale(
    requester, reviewer, admin
):
    """The per-event authorization uses what the socket last read; only the backstop reads."""
    requests = [make_request(requester, call_index=index) for index in range(3)]
    sockets = [Socket(reviewer), Socket(admin)]

    async def heard_by_all(request: ActionRequest) -> None:
        await asyncio.to_thread(in_thread(lambda: publish(request)))
        for socket in sockets:
            heard = await socket.communicator.receive_json_from(timeout=5)
            assert heard["request"]["id"] == str(request.id)

    # The consumers' database reads run on the test's thread, on its connection (thread-sensitive
    # sync_to_async); the publisher's in another thread. The capture is opened on that thread too.
    fresh, stale = CaptureQueriesContext(connection), CaptureQueriesContext(connection)

    async def scenario() -> None:
        for socket in sockets:
            await socket.open()
        await sync_to_async(fresh.__enter__)()
        for request in requests[:2]:
            await heard_by_all(request)
        await sync_to_async(fresh.__exit__)(None, None, None)
        with past_the_access_max_age():
            await sync_to_async(stale.__enter__)()
            await heard_by_all(requests[2])
            await sync_to_async(stale.__exit__)(None, None, None)
        for socket in sockets:
            await socket.communicator.disconnect()

    async_to_sync(scenario)()
    fresh_queries, stale_queries = len(fresh), len(stale)
    assert fresh_queries == 0
    assert stale_queries > 0  # the count sees the consumers' reads: each socket re-checked once


def test_a_reviewer_watching_a_trace_is_cut_off_when_they_leave_the_reviewers(requester, reviewer):
    make_agent("chainer", model="sim/chain?calls=1&tool=refund_tool")
    task, _ = task_submit(owner=requester, agent_name="chainer", input="go")
    socket = Socket(reviewer, path=f"/ws/tasks/{task.id}/trace/")

    async def scenario() -> int:
        await socket.open()
        await asyncio.to_thread(in_thread(lambda: leave_reviewers(reviewer)))
        return await socket.closed_code()

    assert async_to_sync(scenario)() == CLOSE_FORBIDDEN
