"""Two stacks on one Redis server: pushes, tasks and guard counters stay within their instance."""

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
from asgiref.sync import async_to_sync
from celery import Celery
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction

from agents.guards.ratelimits import rate_take
from approvals.live import action_request_publish, reviewer_channel_group
from console.celery import app as celery_app
from core.instance import channel_prefix, instance_name, redis_key_prefix
from tests.approvals.conftest import make_request
from tests.approvals.test_queue_socket import socket
from tests.support.child_settings import child_settings, settings_json
from tests.support.processes import running_worker

SWEEP = "approvals.tasks.sweep"


def other_instance() -> str:
    return f"{settings.TOLLGATE_INSTANCE}-b"


def test_the_instance_is_the_database_name_made_safe_unless_configured():
    assert instance_name(configured="", database_name="tollgate") == "tollgate"
    assert instance_name(configured="", database_name="Shop DB.prod") == "shop-db-prod"
    assert instance_name(configured="", database_name="x" * 80) == "x" * 40
    assert instance_name(configured="", database_name="...") == "tollgate"
    assert instance_name(configured="blue", database_name="tollgate") == "blue"


@pytest.mark.parametrize("configured", ["Blue", "a.b", "a:b", "-a", "a" * 41, "a b"])
def test_a_configured_instance_that_could_spill_into_another_is_refused(configured):
    with pytest.raises(ImproperlyConfigured, match="TOLLGATE_INSTANCE"):
        instance_name(configured=configured, database_name="tollgate")


def _redis_names(**env: str) -> dict:
    names = ["TOLLGATE_INSTANCE", "CHANNEL_LAYERS", "CELERY_TASK_DEFAULT_QUEUE"]
    names += ["CELERY_BROKER_TRANSPORT_OPTIONS", "GUARD_KEY_PREFIX"]
    got = settings_json(child_settings(names, REDIS_URL=settings.REDIS_URL, **env))
    return {
        "instance": got["TOLLGATE_INSTANCE"],
        "channels": got["CHANNEL_LAYERS"]["default"]["CONFIG"]["prefix"],
        "queue": got["CELERY_TASK_DEFAULT_QUEUE"],
        "keys": got["CELERY_BROKER_TRANSPORT_OPTIONS"]["global_keyprefix"],
        "guard": got["GUARD_KEY_PREFIX"],
    }


def test_every_redis_name_starts_with_the_instance():
    derived = _redis_names(DATABASE_URL="postgresql://u@db.example/Stack_One")
    assert derived == {
        "instance": "stack_one",
        "channels": "stack_one.",
        "queue": "stack_one",
        "keys": "stack_one:",
        "guard": "stack_one:guard:",
    }
    # An explicit queue still wins.
    configured = _redis_names(
        DATABASE_URL="postgresql://u@db.example/tollgate", TOLLGATE_INSTANCE="blue", CELERY_QUEUE="jobs"
    )
    assert configured == {
        "instance": "blue",
        "channels": "blue.",
        "queue": "jobs",
        "keys": "blue:",
        "guard": "blue:guard:",
    }


@pytest.mark.django_db(transaction=True)
def test_a_push_of_one_instance_never_reaches_a_socket_of_another(requester, reviewer, settings):
    """Redis pub/sub ignores the database number: before the prefix, a reviewer of one stack
    saw the other stack's pending requests."""
    request = make_request(requester)
    ours = RedisPubSubChannelLayer(**settings.CHANNEL_LAYERS["default"]["CONFIG"])
    theirs = {**settings.CHANNEL_LAYERS["default"]["CONFIG"], "prefix": channel_prefix(other_instance())}
    # The socket below belongs to the other instance: the web process's layer is its layer.
    settings.CHANNEL_LAYERS = {"default": {**settings.CHANNEL_LAYERS["default"], "CONFIG": theirs}}
    leaked = {"type": "request.event", "event": "created", "request": {"id": "of-another-stack"}}
    communicator = socket(reviewer)

    async def scenario() -> dict:
        assert (await communicator.connect())[0]
        await ours.group_send(reviewer_channel_group("reviewers"), leaked)
        # Then a push of the socket's own instance, through the app's own path. Pub/sub keeps
        # order, so a leaked push would arrive first.
        await _publish_after_commit(request.pk)
        heard = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return heard

    heard = async_to_sync(scenario)()
    assert heard["event"] == "changed"
    assert heard["request"]["id"] == str(request.id)


async def _publish_after_commit(request_id: uuid.UUID) -> None:
    from channels.db import database_sync_to_async

    @database_sync_to_async
    def publish() -> None:
        try:
            with transaction.atomic():
                action_request_publish(request_id=request_id, event="changed")
        finally:
            connection.close()  # the worker thread's own, or it outlives the test database

    await publish()


def _their_celery() -> Celery:
    """A producer configured as the other instance's processes are."""
    # Not the current app: shared tasks (run_task, ...) would otherwise publish through it in
    # every later test of this process.
    app = Celery("tollgate", broker=settings.CELERY_BROKER_URL, set_as_current=False)
    app.conf.broker_transport_options = {
        **settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        "global_keyprefix": redis_key_prefix(other_instance()),
    }
    return app


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_task_is_consumed_only_by_workers_of_its_instance_even_on_one_queue_name(tmp_path: Path):
    queue = f"shared-{uuid.uuid4().hex[:8]}"
    broker = redis.Redis.from_url(settings.REDIS_URL)
    their_app = _their_celery()
    with running_worker(tmp_path, TOLLGATE_INSTANCE=other_instance(), CELERY_QUEUE=queue) as theirs:
        mine = celery_app.send_task(SWEEP, queue=queue)
        their = their_app.send_task(SWEEP, queue=queue)
        theirs.wait_for(f"[{their.id}] succeeded")
        assert mine.id not in theirs.output()
        # Still waiting in this instance's queue, under this instance's keys.
        assert broker.llen(redis_key_prefix(settings.TOLLGATE_INSTANCE) + queue) == 1
    their_app.close()
    with running_worker(tmp_path, CELERY_QUEUE=queue) as ours:
        ours.wait_for(f"[{mine.id}] succeeded")
    assert broker.llen(redis_key_prefix(settings.TOLLGATE_INSTANCE) + queue) == 0


def test_guard_counters_of_two_instances_do_not_collide(settings, time_machine):
    time_machine.move_to(datetime(2026, 5, 4, 3, 2, 1, tzinfo=UTC), tick=False)  # one rate window
    name = f"tool:{uuid.uuid4().hex}"
    ours = settings.GUARD_KEY_PREFIX
    assert ours.startswith(redis_key_prefix(settings.TOLLGATE_INSTANCE))

    assert rate_take(name=name, per_minute=1) == 0
    settings.GUARD_KEY_PREFIX = redis_key_prefix(other_instance()) + "guard:"
    assert rate_take(name=name, per_minute=1) == 0  # the other instance's own window
    assert rate_take(name=name, per_minute=1) > 0
    settings.GUARD_KEY_PREFIX = ours
    assert rate_take(name=name, per_minute=1) > 0
