"""Sync API views under ASGI run on the API's thread pool, several at once, and hand their
database connection back; under the test client's WSGI handler they stay on the caller's thread."""

import asyncio
import io
import threading

import pytest
from asgiref.sync import async_to_sync
from django.core.handlers.asgi import ASGIRequest
from django.db import connection, connections
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from console.api_threads import off_shared_thread


def asgi_request(path: str) -> ASGIRequest:
    scope = {"type": "http", "method": "GET", "path": path, "headers": [], "query_string": b""}
    return ASGIRequest(scope, io.BytesIO())


def test_two_requests_run_at_once_under_asgi():
    # The first request waits until the second has started: on one shared thread it would wait
    # out its timeout and answer 504.
    second_started = threading.Event()
    threads: dict[str, str] = {}

    def view(request: HttpRequest) -> HttpResponse:
        threads[request.path] = threading.current_thread().name
        if request.path == "/first":
            return HttpResponse(status=200 if second_started.wait(timeout=20) else 504)
        second_started.set()
        return HttpResponse(status=200)

    threaded = off_shared_thread(view)

    async def both() -> list[HttpResponse]:
        return list(await asyncio.gather(threaded(asgi_request("/first")), threaded(asgi_request("/second"))))

    responses = async_to_sync(both)()

    assert [response.status_code for response in responses] == [200, 200]
    assert threads["/first"] != threads["/second"]
    assert all(name.startswith("api") for name in threads.values())


@pytest.mark.django_db(transaction=True)
def test_the_threads_connection_goes_back_to_the_pool():
    used: list = []

    def view(request: HttpRequest) -> HttpResponse:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        used.append(connections["default"])
        return HttpResponse()

    async_to_sync(off_shared_thread(view))(asgi_request("/"))

    assert len(used) == 1
    assert used[0] is not connections["default"]  # the pool thread's own
    assert used[0].connection is None  # closed: with a pool, returned to it


@pytest.mark.django_db
def test_under_wsgi_the_view_sees_the_callers_transaction(requester):
    from django.contrib.auth.models import User

    seen: list[bool] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.append(User.objects.filter(pk=requester.pk).exists())
        return HttpResponse()

    async_to_sync(off_shared_thread(view))(RequestFactory().get("/"))

    assert seen == [True]


def test_every_middleware_runs_under_asgi_without_holding_the_shared_thread():
    # Django runs a sync-only middleware on the shared thread and the rest of the request below
    # it through async_to_sync, so that thread stays busy until the view is done.
    from django.conf import settings
    from django.utils.module_loading import import_string

    sync_only = [
        path for path in settings.MIDDLEWARE if not getattr(import_string(path), "async_capable", False)
    ]

    assert sync_only == []


def test_the_input_guard_refuses_a_nul_under_asgi_too():
    from console.input_guard import RefuseUnstorableInput

    async def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse("passed")

    guard = RefuseUnstorableInput(view)
    scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b"agent=%00"}
    refused = async_to_sync(guard)(ASGIRequest(scope, io.BytesIO()))
    passed = async_to_sync(guard)(asgi_request("/"))

    assert (refused.status_code, passed.content) == (400, b"passed")
