"""The stalled-task sweeper re-sends only runs whose message can have been lost.

Counted at the broker: the messages waiting in the run queue, not calls to a function.
"""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings

from agents.models import Task
from agents.run_queue import run_queue_length
from agents.services.tasks import task_submit, tasks_stalled_resume
from core import clock
from tests.factories import make_agent

# Every test here counts the messages at the broker.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("empty_run_queue")]


@pytest.fixture
def backlog(requester) -> list[Task]:
    make_agent("echoer", model="sim/echo")
    return [task_submit(owner=requester, agent_name="echoer", input=f"hi {i}")[0] for i in range(80)]


def test_a_backlog_of_queued_tasks_is_not_sent_again_while_its_messages_can_still_arrive(backlog):
    assert run_queue_length() == 80  # one message per submission

    for _ in range(3):
        assert tasks_stalled_resume() == 0
    assert run_queue_length() == 80


def test_queued_tasks_are_sent_again_once_after_the_visibility_timeout(backlog):
    visibility = settings.CELERY_VISIBILITY_TIMEOUT_S
    with time_machine.travel(clock.now() + timedelta(seconds=visibility + 1), tick=False):
        assert tasks_stalled_resume() == 80
        assert tasks_stalled_resume() == 0
    assert run_queue_length() == 160


def test_a_running_task_whose_worker_died_is_sent_once_when_its_lease_passes(backlog):
    dead = backlog[0]
    # Its worker claimed it, then died: the lease is no longer renewed.
    now = clock.now()
    Task.objects.filter(pk=dead.pk).update(
        status=Task.Status.RUNNING, lease_until=now + timedelta(seconds=30), lease_owner=dead.pk
    )
    assert tasks_stalled_resume() == 0  # the lease still holds

    with time_machine.travel(now + timedelta(seconds=31), tick=False):
        assert tasks_stalled_resume() == 1
        assert tasks_stalled_resume() == 0  # sent since the lease passed: not again
    dead.refresh_from_db()
    assert dead.enqueued_at is not None
    assert dead.enqueued_at > dead.lease_until
    assert run_queue_length() == 81


def test_a_yielded_run_whose_message_is_queued_is_left_alone(backlog):
    yielded = backlog[0]
    now = clock.now()
    # What a run does when it yields: the lease ends now, the next run is sent after it.
    Task.objects.filter(pk=yielded.pk).update(
        status=Task.Status.RUNNING,
        lease_until=now,
        lease_owner=None,
        enqueued_at=now + timedelta(seconds=0.01),
    )

    with time_machine.travel(now + timedelta(seconds=60), tick=False):
        assert tasks_stalled_resume() == 0
