"""The queue's WebSocket through the real Redis channel layer: who may listen, what they hear, when."""

import asyncio
import threading

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import connection, transaction
from django.test import Client

from approvals.consumers import CLOSE_FORBIDDEN
from approvals.live import action_request_publish
from approvals.models import ActionRequest, PolicyRule
from console.asgi import application
from tests.approvals.conftest import make_request

pytestmark = pytest.mark.django_db(transaction=True)


def socket(user: User | None = None) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://localhost")]
    if user is not None:
        client = Client()
        client.force_login(user)
        cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, "/ws/approvals/", headers=headers)


def finance_reviewer() -> User:
    user = User.objects.create_user("finance-reviewer")
    user.groups.add(Group.objects.create(name="finance"))
    PolicyRule.objects.create(tool="*", tier="high", reviewer_group="finance", priority=-5)
    return user


def test_only_reviewers_and_admins_may_connect(requester, outsider, reviewer, admin):
    async def attempt(communicator: WebsocketCommunicator) -> tuple[bool, int | None]:
        connected, code = await communicator.connect()
        await communicator.disconnect()
        return connected, code

    assert async_to_sync(attempt)(socket()) == (False, CLOSE_FORBIDDEN)
    assert async_to_sync(attempt)(socket(requester)) == (False, CLOSE_FORBIDDEN)
    assert async_to_sync(attempt)(socket(outsider)) == (False, CLOSE_FORBIDDEN)
    assert async_to_sync(attempt)(socket(reviewer))[0] is True
    assert async_to_sync(attempt)(socket(admin))[0] is True
    assert async_to_sync(attempt)(socket(finance_reviewer()))[0] is True


def test_a_change_is_pushed_only_after_its_transaction_commits_and_only_to_its_group(
    requester, reviewer, admin
):
    request = make_request(requester)
    mine, boss, other = socket(reviewer), socket(admin), socket(finance_reviewer())
    written, commit = threading.Event(), threading.Event()

    def change_in_a_transaction() -> None:
        try:
            with transaction.atomic():
                ActionRequest.objects.filter(pk=request.pk).update(escalated_at=request.created_at)
                action_request_publish(request_id=request.pk, event="changed")
                written.set()
                commit.wait(10)
        finally:
            connection.close()

    async def scenario() -> list[dict]:
        for communicator in (mine, boss, other):
            assert (await communicator.connect())[0]
        writer = threading.Thread(target=change_in_a_transaction)
        writer.start()
        await asyncio.to_thread(written.wait, 10)
        assert await mine.receive_nothing(timeout=0.5)  # not before the commit
        commit.set()
        await asyncio.to_thread(writer.join, 10)
        heard = [await mine.receive_json_from(timeout=5), await boss.receive_json_from(timeout=5)]
        assert await other.receive_nothing(timeout=0.5)  # another reviewer group
        for communicator in (mine, boss, other):
            await communicator.disconnect()
        return heard

    heard = async_to_sync(scenario)()
    for message in heard:
        assert message["event"] == "changed"
        assert message["request"]["id"] == str(request.id)
        assert message["request"]["escalated"] is True


def test_a_rolled_back_change_is_never_pushed(requester, reviewer):
    request = make_request(requester)
    mine = socket(reviewer)

    def rolled_back() -> None:
        try:
            with transaction.atomic():
                action_request_publish(request_id=request.pk, event="changed")
                transaction.set_rollback(True)
        finally:
            connection.close()

    async def scenario() -> None:
        assert (await mine.connect())[0]
        await asyncio.to_thread(rolled_back)
        assert await mine.receive_nothing(timeout=0.5)
        await mine.disconnect()

    async_to_sync(scenario)()


def test_reviewers_see_who_else_is_looking(requester, reviewer):
    request = make_request(requester)
    second = User.objects.create_user("second")
    second.groups.add(Group.objects.get(name="reviewers"))
    me, them = socket(reviewer), socket(second)

    async def scenario() -> dict:
        assert (await me.connect())[0]
        assert (await them.connect())[0]
        await me.send_json_to({"type": "looking", "request": str(request.id)})
        seen = await them.receive_json_from(timeout=5)
        assert await me.receive_nothing(timeout=0.3)  # not echoed to the sender
        await me.send_json_to({"type": "nonsense"})
        await me.send_json_to(["not", "an", "object"])
        assert await them.receive_nothing(timeout=0.3)
        await me.disconnect()
        gone = await them.receive_json_from(timeout=5)
        await them.disconnect()
        return {"seen": seen, "gone": gone}

    result = async_to_sync(scenario)()
    assert result["seen"] == {"event": "presence", "user": "reviewer", "request": str(request.id)}
    assert result["gone"] == {"event": "presence", "user": "reviewer", "request": None}


def test_a_hostile_frame_is_dropped_and_the_socket_stays_open(requester, reviewer):
    """Malformed, binary, NaN and too-deep frames used to raise inside the consumer."""
    request = make_request(requester)
    second = User.objects.create_user("second")
    second.groups.add(Group.objects.get(name="reviewers"))
    me, them = socket(reviewer), socket(second)

    async def scenario() -> dict:
        assert (await me.connect())[0]
        assert (await them.connect())[0]
        for frame in ["{not json", '{"type": "looking", "request": NaN}', "[" * 5000 + "]" * 5000]:
            await me.send_to(text_data=frame)
        await me.send_to(bytes_data=b"\x00\xff")
        assert await them.receive_nothing(timeout=0.3)
        await me.send_json_to({"type": "looking", "request": str(request.id)})
        seen = await them.receive_json_from(timeout=5)
        await me.disconnect()
        await them.disconnect()
        return seen

    seen = async_to_sync(scenario)()
    assert seen == {"event": "presence", "user": "reviewer", "request": str(request.id)}


def test_a_decision_reaches_every_connected_reviewer(requester, reviewer, admin):
    from approvals.services import action_request_decide

    request = make_request(requester)
    watcher = socket(admin)

    async def scenario() -> dict:
        assert (await watcher.connect())[0]
        await asyncio.to_thread(_decide, request, reviewer, action_request_decide)
        message = await watcher.receive_json_from(timeout=5)
        await watcher.disconnect()
        return message

    message = async_to_sync(scenario)()
    assert message["event"] == "decided"
    assert message["request"]["status"] == "approved"


def _decide(request, reviewer, decide) -> None:
    try:
        decide(action_request=request, actor=reviewer, decision="approve")
    finally:
        connection.close()
