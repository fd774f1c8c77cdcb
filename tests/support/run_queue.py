"""Emptying the run queue at the broker around a test (agents/run_queue.py counts what waits in it)."""

from collections.abc import Iterator

import pytest
from django.conf import settings

from console.celery import app


@pytest.fixture
def empty_run_queue() -> Iterator[None]:
    def purge() -> None:
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(settings.CELERY_TASK_DEFAULT_QUEUE)

    purge()
    yield
    purge()
