"""The trace WebSocket: who may listen, and one push per committed step through real Redis."""

from unittest import mock

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import transaction
from django.test import Client

from agents.models import Task
from agents.runtime.loop import RunOutcome, task_run
from agents.services.tasks import task_submit
from console.asgi import application
from tests.factories import make_agent, make_http_tool
from tracing.consumers import CLOSE_FORBIDDEN

pytestmark = pytest.mark.django_db(transaction=True)


def _cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


def _communicator(task: Task, user=None) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://localhost")]
    if user is not None:
        headers.append((b"cookie", _cookie(user)))
    return WebsocketCommunicator(application, f"/ws/tasks/{task.id}/trace/", headers=headers)


@pytest.fixture
def task(requester, use_simulator, tool_server) -> Task:
    url, _ = tool_server
    make_agent(
        "chainer", model="sim/chain?calls=2&tool=refund_tool", tools=[make_http_tool("refund_tool", url)]
    )
    task, _ = task_submit(owner=requester, agent_name="chainer", input="go")
    return task


def test_anonymous_users_and_outsiders_are_turned_away(task, outsider):
    async def attempt(communicator: WebsocketCommunicator) -> tuple[bool, int | None]:
        connected, code = await communicator.connect()
        await communicator.disconnect()
        return connected, code

    assert async_to_sync(attempt)(_communicator(task)) == (False, CLOSE_FORBIDDEN)
    assert async_to_sync(attempt)(_communicator(task, outsider)) == (False, CLOSE_FORBIDDEN)


def test_the_owner_hears_once_per_committed_step_then_that_the_task_finished(task, requester, reviewer):
    owner = _communicator(task, requester)
    other = _communicator(task, reviewer)

    async def watch() -> tuple[list[dict], list[dict]]:
        assert (await owner.connect())[0]
        assert (await other.connect())[0]
        outcome = await database_sync_to_async(task_run)(task_id=task.id, max_steps=50, max_seconds=60)
        assert outcome is RunOutcome.FINISHED
        heard = [await owner.receive_json_from(timeout=5) for _ in range(4)]
        seen = [await other.receive_json_from(timeout=5) for _ in range(4)]
        assert await owner.receive_nothing(timeout=0.3)
        await owner.disconnect()
        await other.disconnect()
        return heard, seen

    heard, seen = async_to_sync(watch)()

    expected = [
        {"event": "spans_added", "step": 0, "finished": False},
        {"event": "spans_added", "step": 1, "finished": False},
        {"event": "spans_added", "step": 2, "finished": False},
        {"event": "spans_added", "step": None, "finished": True},
    ]
    assert heard == expected
    assert seen == expected


def test_nothing_is_pushed_before_the_step_commits(task):
    with mock.patch("tracing.events.trace_spans_added_publish") as publish:
        # An outer transaction holds back every step's commit until it ends.
        with transaction.atomic():
            task_run(task_id=task.id, max_steps=50, max_seconds=60)
            assert publish.call_count == 0
        assert [call.kwargs["step_index"] for call in publish.call_args_list] == [0, 1, 2, None]
