"""The run queue: the broker queue every run of a task is sent to (CELERY_TASK_DEFAULT_QUEUE)."""

from django.conf import settings
from kombu.exceptions import KombuError
from redis.exceptions import RedisError

from console.celery import app

# What asking or sending to the broker raises when it is down or stalled (BROKER_SOCKET_TIMEOUT_S).
BROKER_ERRORS = (OSError, KombuError, RedisError)


def run_queue_length() -> int:
    """How many runs wait in the run queue at the broker; not those a worker already holds.

    Raises the broker's errors (OSError, KombuError, RedisError) when it cannot be asked."""
    with app.pool.acquire(block=True, timeout=1) as conn:
        # Declared (idempotently) rather than looked up: nothing may have bound the queue yet.
        declared = conn.default_channel.queue_declare(queue=settings.CELERY_TASK_DEFAULT_QUEUE)
    return int(declared.message_count)
