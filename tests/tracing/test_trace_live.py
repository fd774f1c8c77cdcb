"""The trace WebSocket: who may listen, and one push per committed step through real Redis."""

import asyncio
import threading
from unittest import mock

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import transaction
from django.test import Client

from agents.models import Task
from agents.runtime.loop import RunOutcome, task_steps_run
from agents.services.tasks import task_submit
from console.asgi import application
from tests.factories import make_agent, make_http_tool
from tracing.consumers import CLOSE_FORBIDDEN
from tracing.live import trace_group, trace_spans_added_publish

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


def _run(scenario, *args):
    """Run an async scenario on a loop of its own thread: the suite's browser tests leave
    Playwright's event loop running in the main thread, where no second loop may run."""
    result: list = []
    errors: list[BaseException] = []

    def main() -> None:
        try:
            result.append(asyncio.run(scenario(*args)))
        except BaseException as error:  # re-raised in the test's thread below
            errors.append(error)

    thread = threading.Thread(target=main)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]


@pytest.fixture
def task(requester, use_simulator, tool_server) -> Task:
    url, _ = tool_server
    make_agent(
        "chainer",
        model="sim/chain?calls=2&tool=refund_tool",
        # A tool safe to repeat: one test runs the task inside a transaction, where a call that
        # may be sent at most once is refused (its in-flight mark would not be committed).
        tools=[make_http_tool("refund_tool", url, honours_idempotency_key=True)],
    )
    task, _ = task_submit(owner=requester, agent_name="chainer", input="go")
    return task


def test_anonymous_users_and_outsiders_are_turned_away(task, outsider):
    async def attempt(communicator: WebsocketCommunicator) -> tuple[bool, int | None]:
        connected, code = await communicator.connect()
        await communicator.disconnect()
        return connected, code

    assert _run(attempt, _communicator(task)) == (False, CLOSE_FORBIDDEN)
    assert _run(attempt, _communicator(task, outsider)) == (False, CLOSE_FORBIDDEN)


def test_the_owner_hears_once_per_committed_step_then_that_the_task_finished(task, requester, reviewer):
    owner = _communicator(task, requester)
    other = _communicator(task, reviewer)

    async def watch() -> tuple[list[dict], list[dict]]:
        assert (await owner.connect())[0]
        assert (await other.connect())[0]
        outcome = await database_sync_to_async(task_steps_run)(task_id=task.id, max_steps=50, max_seconds=60)
        assert outcome is RunOutcome.FINISHED
        heard = [await owner.receive_json_from(timeout=5) for _ in range(4)]
        seen = [await other.receive_json_from(timeout=5) for _ in range(4)]
        assert await owner.receive_nothing(timeout=0.3)
        await owner.disconnect()
        await other.disconnect()
        return heard, seen

    heard, seen = _run(watch)

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
            task_steps_run(task_id=task.id, max_steps=50, max_seconds=60)
            assert publish.call_count == 0
        assert [call.kwargs["step_index"] for call in publish.call_args_list] == [0, 1, 2, None]


def test_a_failing_push_never_fails_the_task(task, monkeypatch):
    def unreachable(**_kwargs) -> None:
        raise ConnectionError("redis is down")

    monkeypatch.setattr("tracing.events.trace_spans_added_publish", unreachable)

    assert task_steps_run(task_id=task.id, max_steps=50, max_seconds=60) is RunOutcome.FINISHED
    assert Task.objects.get(pk=task.pk).status == Task.Status.SUCCEEDED


def test_a_push_from_a_thread_that_runs_an_event_loop_still_arrives():
    layer = get_channel_layer()

    async def scenario() -> dict:
        channel = await layer.new_channel()
        await layer.group_add(trace_group("loop-thread"), channel)
        # A blocking call from inside the loop's own thread (as Playwright's sync API leaves it).
        trace_spans_added_publish(task_id="loop-thread", step_index=3, finished=False)
        return await asyncio.wait_for(layer.receive(channel), 5)

    assert _run(scenario) == {"type": "spans.added", "step": 3, "finished": False}
