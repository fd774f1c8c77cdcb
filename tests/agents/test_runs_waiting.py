"""Whether another run waits for a worker: what decides if a run past SECONDS_PER_RUN yields."""

import uuid

import pytest
from celery.worker import state as worker_state
from kombu.exceptions import OperationalError

from agents.run_queue import run_queue_length
from agents.tasks import run_task, runs_waiting

pytestmark = pytest.mark.usefixtures("empty_run_queue")


def test_nothing_waits_when_the_run_queue_is_empty_and_the_worker_holds_no_unstarted_run():
    assert run_queue_length() == 0
    assert runs_waiting() is False


def test_a_run_in_the_broker_queue_waits():
    run_task.delay(str(uuid.uuid4()))

    assert run_queue_length() == 1
    assert runs_waiting() is True


class _Held:
    """A request this worker holds (reserved) that no thread has started yet."""


def test_a_run_this_worker_holds_but_has_not_started_waits():
    held = _Held()
    worker_state.reserved_requests.add(held)
    try:
        assert runs_waiting() is True
    finally:
        worker_state.reserved_requests.discard(held)
    assert runs_waiting() is False


def test_a_broker_that_cannot_be_asked_counts_as_someone_waiting(monkeypatch):
    def unreachable(*args, **kwargs):
        raise OperationalError("broker down")

    monkeypatch.setattr(run_task.app.pool, "acquire", unreachable)

    assert runs_waiting() is True  # share the worker, as a run always did
