"""The health endpoints: no token, real PostgreSQL and Redis, and a failure named but never explained."""

import logging
import threading
import time
from collections.abc import Iterator
from functools import partial

import pytest
from django.db import connections
from django.test import Client, override_settings

from console import health
from console.embedded import free_port
from tests.support.child_settings import child_settings, settings_json
from tests.support.stalled import StalledServer

LIVE = "/api/v1/health/live"
READY = "/api/v1/health/ready"
ALL_OK = {"database": "ok", "redis": "ok", "broker": "ok"}


@pytest.fixture
def stalled() -> Iterator[StalledServer]:
    server = StalledServer()
    yield server
    server.close()
    # The checks it held end now (end of file); none may outlive the test into the next one.
    for thread in threading.enumerate():
        if thread.name.startswith("health-"):
            thread.join(timeout=5)
            assert not thread.is_alive(), f"{thread.name} still runs"


@pytest.fixture
def database_at(monkeypatch: pytest.MonkeyPatch):
    """Point the readiness check's database at a port of loopback."""

    def point(port: int) -> None:
        # A copy under an alias Django does not know, which its test case lets any thread open.
        database = connections["default"].copy(alias=f"health_{port}")
        database.settings_dict.update(HOST="127.0.0.1", PORT=port, OPTIONS={})  # no pool: its own
        database.inc_thread_sharing()  # opened and closed on the check's thread
        monkeypatch.setitem(health.CHECKS, "database", partial(health.database_check, database))

    return point


def test_live_answers_ok_without_a_token_or_the_database():
    # No django_db mark: a query would fail this test.
    response = Client().get(LIVE)

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_ready_answers_ok_when_postgresql_redis_and_the_broker_answer():
    response = Client().get(READY)

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": ALL_OK}


@pytest.mark.django_db
def test_ready_names_redis_when_it_is_unreachable(settings):
    port = free_port()
    settings.GUARD_REDIS_URL = f"redis://127.0.0.1:{port}/0"

    response = Client().get(READY)

    assert response.status_code == 503
    assert response.json() == {"status": "error", "checks": {**ALL_OK, "redis": "error"}}
    assert str(port) not in response.content.decode()


@pytest.mark.django_db
def test_ready_names_the_database_when_it_is_unreachable(database_at):
    port = free_port()
    database_at(port)

    response = Client().get(READY)

    assert response.status_code == 503
    assert response.json() == {"status": "error", "checks": {**ALL_OK, "database": "error"}}
    assert str(port) not in response.content.decode()


@pytest.mark.django_db
def test_a_dependency_that_never_answers_is_an_error_within_the_timeout(settings, database_at, stalled):
    database_at(stalled.port)  # PostgreSQL's client waits for the server's first byte forever
    settings.GUARD_REDIS_URL = f"redis://127.0.0.1:{stalled.port}/0"

    started = time.monotonic()
    response = Client().get(READY)
    waited = time.monotonic() - started

    assert response.status_code == 503
    assert response.json() == {"status": "error", "checks": {**ALL_OK, "database": "error", "redis": "error"}}
    # It waited for the database's second, and no longer (a busy machine gets a margin).
    assert health.CHECK_TIMEOUT_S - 0.1 < waited < health.CHECK_TIMEOUT_S + 1.0


@pytest.mark.django_db
def test_a_stalled_check_is_shared_not_started_again(database_at, stalled):
    database_at(stalled.port)
    Client().get(READY)
    assert len(stalled.accepted) == 1

    # The first check still waits on its connection; a second caller is told at once, without
    # another thread or connection.
    started = time.monotonic()
    response = Client().get(READY)

    assert time.monotonic() - started < health.CHECK_TIMEOUT_S / 2
    assert response.json()["checks"]["database"] == "error"
    assert len(stalled.accepted) == 1
    assert [t.name for t in threading.enumerate()].count("health-database") == 1


def test_healthy_probes_leave_uvicorns_access_log_and_failed_ones_stay():
    quiet = health.QuietHealthyProbes()

    def access_line(path: str, status: int) -> logging.LogRecord:
        args = ("10.0.0.7:51234", "GET", path, "1.1", status)
        return logging.LogRecord("uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d', args, None)

    assert not quiet.filter(access_line(READY, 200))
    assert not quiet.filter(access_line(LIVE, 200))
    assert quiet.filter(access_line(READY, 503))
    assert quiet.filter(access_line("/api/v1/tasks", 200))


def test_production_does_not_redirect_health_probes_to_https():
    production = settings_json(
        child_settings(
            ["SECURE_REDIRECT_EXEMPT"],
            module="console.settings.production",
            DJANGO_SECRET_KEY="x" * 50,
            DATABASE_URL="postgresql://unused@localhost/unused",
            REDIS_URL="redis://localhost:6379/0",
        )
    )
    with override_settings(SECURE_SSL_REDIRECT=True, **production):
        client = Client()
        assert client.get(LIVE).status_code == 200
        assert client.get("/api/v1/tasks").status_code == 301
