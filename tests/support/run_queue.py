"""The run queue at the broker: how many messages wait in it, and emptying it around a test."""

from collections.abc import Iterator

import pytest
from django.conf import settings

from console.celery import app


def queued_messages() -> int:
    with app.connection_for_write() as conn:
        # Declared (idempotently) rather than looked up: nothing may have bound the queue yet.
        declared = conn.default_channel.queue_declare(queue=settings.CELERY_TASK_DEFAULT_QUEUE)
        return int(declared.message_count)


@pytest.fixture
def empty_run_queue() -> Iterator[None]:
    def purge() -> None:
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(settings.CELERY_TASK_DEFAULT_QUEUE)

    purge()
    yield
    purge()
