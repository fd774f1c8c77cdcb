"""A broker that accepts connections and never answers (a stalled Redis): sending a task's run
gives up after BROKER_SOCKET_TIMEOUT_S instead of holding the submission for ever, the submission
succeeds, and the task waits in the database until the stalled-task sweeper sends it. A live
broker's worker waits for messages longer than that timeout without losing its connection."""

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
import time_machine

from agents.models import Task
from agents.run_queue import run_queue_length
from agents.services.tasks import task_submit, tasks_stalled_resume
from core import clock
from tests.factories import make_agent
from tests.support.processes import ROOT, child_env, running_worker, wait_until

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


class StalledBroker:
    """A TCP server that accepts every connection and never reads or writes on it."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.1)  # closing the socket does not wake a blocked accept()
        self.accepted: list[socket.socket] = []
        self.closing = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.server.getsockname()[1]}/0"

    def _accept(self) -> None:
        while not self.closing.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            self.accepted.append(conn)

    def close(self) -> None:
        self.closing.set()
        self.thread.join(timeout=10)
        self.server.close()
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def stalled_broker() -> Iterator[StalledBroker]:
    broker = StalledBroker()
    yield broker
    broker.close()


def test_a_submission_to_a_stalled_broker_returns_and_the_sweeper_sends_its_task(requester, stalled_broker):
    make_agent("echoer", model="sim/echo")
    env = child_env(
        REDIS_URL=stalled_broker.url, BROKER_SOCKET_TIMEOUT_S="0.5", BROKER_CONNECT_TIMEOUT_S="0.5"
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
