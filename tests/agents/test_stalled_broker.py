"""A broker that accepts connections and never answers (a stalled Redis): sending a task's run
gives up after BROKER_SOCKET_TIMEOUT_S instead of holding the submission for ever, the submission
succeeds, and the task waits in the database until the stalled-task sweeper sends it (a failed
send clears only its own mark). A live broker's worker waits for messages longer than that
timeout without losing its connection."""

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
import time_machine
from django.db import connection, transaction
from kombu.exceptions import OperationalError

from agents.models import Task
from agents.run_queue import run_queue_length
from agents.services.tasks import task_submit, tasks_enqueue, tasks_stalled_resume
from agents.tasks import run_task
from core import clock
from tests.factories import make_agent
from tests.support.processes import ROOT, child_env, running_worker, wait_until
from tests.support.stalled import StalledServer, stalled_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("empty_run_queue")]

# A submission in a process of its own, whose broker is the stalled one.
_SUBMIT = """
import django
django.setup()
from django.contrib.auth.models import User
from agents.services.tasks import task_submit
task, _ = task_submit(owner=User.objects.get(pk={owner}), agent_name="echoer", input="hi")
print(task.pk)
"""


@pytest.fixture
def stalled_broker() -> Iterator[StalledServer]:
    with stalled_server() as broker:
        yield broker


def test_a_submission_to_a_stalled_broker_returns_and_the_sweeper_sends_its_task(requester, stalled_broker):
    make_agent("echoer", model="sim/echo")
    env = child_env(
        REDIS_URL=f"redis://{stalled_broker.address}/0",
        BROKER_SOCKET_TIMEOUT_S="0.5",
        BROKER_CONNECT_TIMEOUT_S="0.5",
    )

    # Without a socket timeout the send waits for an answer for ever: the bound here only keeps a
    # failure from hanging the suite.
    submitted = subprocess.run(
        [sys.executable, "-c", _SUBMIT.format(owner=requester.pk)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert submitted.returncode == 0, submitted.stderr  # the broker's error did not reach the caller
    assert "the broker took 0 of 1 runs" in submitted.stderr
    assert stalled_broker.accepted  # the run was sent to the stalled broker, not elsewhere
    task = Task.objects.get(pk=submitted.stdout.strip().splitlines()[-1])
    assert task.status == Task.Status.QUEUED
    assert task.enqueued_at is None  # not sent: the sweeper's to send
    assert run_queue_length() == 0

    with time_machine.travel(clock.now() + timedelta(seconds=31), tick=False):
        assert tasks_stalled_resume() == 1
    assert run_queue_length() == 1


def test_a_batch_the_broker_fails_is_left_whole_to_the_sweeper(requester, monkeypatch):
    # A batch's runs are written together when it ends (kombu's publish batch), so a failure
    # part-way writes none of them, and every one of its tasks is the sweeper's to send.
    make_agent("echoer", model="sim/echo")
    tasks = [task_submit(owner=requester, agent_name="echoer", input=f"hi {n}")[0] for n in range(4)]
    assert run_queue_length() == 4  # their first runs
    send = run_task.apply_async
    calls = []

    def broker_fails_on_the_third(*args, **kwargs):
        calls.append(args)
        if len(calls) == 3:
            raise OperationalError("Timeout reading from socket")
        return send(*args, **kwargs)

    monkeypatch.setattr(run_task, "apply_async", broker_fails_on_the_third)

    sent = tasks_enqueue([task.pk for task in tasks])

    assert sent == []
    assert run_queue_length() == 4  # the two runs before the failure were not written either
    marks = dict(Task.objects.filter(pk__in=[t.pk for t in tasks]).values_list("pk", "enqueued_at"))
    assert [marks[task.pk] is None for task in tasks] == [True, True, True, True]


def test_a_batch_is_sent_whole_in_order(requester):
    make_agent("echoer", model="sim/echo")
    with transaction.atomic():  # sent together when the transaction commits
        tasks = [task_submit(owner=requester, agent_name="echoer", input=f"hi {n}")[0] for n in range(5)]
    assert run_queue_length() == 5
    assert Task.objects.filter(pk__in=[t.pk for t in tasks], enqueued_at__isnull=True).count() == 0


def test_a_failed_send_leaves_the_mark_of_a_sweep_that_sent_the_task_meanwhile(requester, monkeypatch):
    make_agent("echoer", model="sim/echo")
    task = task_submit(owner=requester, agent_name="echoer", input="hi")[0]
    swept_at = clock.now() + timedelta(seconds=5)

    def sweep_meanwhile_then_fail(*args, **kwargs):
        # Another process (its own connection) marks the task, as a sweep does before sending it.
        def sweep() -> None:
            Task.objects.filter(pk=task.pk).update(enqueued_at=swept_at)
            connection.close()

        sweeper = threading.Thread(target=sweep)
        sweeper.start()
        sweeper.join()
        raise OperationalError("Timeout reading from socket")

    monkeypatch.setattr(run_task, "apply_async", sweep_meanwhile_then_fail)

    assert tasks_enqueue([task.pk]) == []
    task.refresh_from_db()
    assert task.enqueued_at == swept_at  # the sweep's mark, not cleared by the failed send


@pytest.mark.worker
def test_a_worker_waits_for_messages_longer_than_its_socket_timeout(requester, use_simulator, tmp_path):
    make_agent("echoer", model="sim/echo")
    with running_worker(tmp_path, SIMULATOR_URL=use_simulator, BROKER_SOCKET_TIMEOUT_S="0.2") as worker:
        # Idle: each wait for a message is a BRPOP of 1 s, five times the socket timeout.
        time.sleep(3)
        task, _ = task_submit(owner=requester, agent_name="echoer", input="hi")
        wait_until(
            lambda: Task.objects.filter(pk=task.pk, status=Task.Status.SUCCEEDED).exists(),
            timeout=30,
            what="the task to succeed",
        )
        log = worker.output()

    assert "Timeout reading from socket" not in log
    assert "Connection to broker lost" not in log
