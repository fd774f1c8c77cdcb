"""Sync API requests under ASGI run whole on the API's thread pool, several at once, and hand
their database connection back; async views and pages stay where Django puts them; under the test
client's WSGI handler everything stays on the caller's thread."""

import asyncio
import io
import threading

import pytest
from asgiref.sync import async_to_sync
from django.core.handlers.asgi import ASGIRequest
from django.db import connections
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.test import Client, override_settings

from console.api_threads import ThreadedApiASGIHandler
from tests.console import threaded_api_urls as urls

URLCONF = "tests.console.threaded_api_urls"


def asgi_request(path: str, query_string: bytes = b"") -> ASGIRequest:
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "headers": [(b"host", b"localhost")],
        "query_string": query_string,
    }
    return ASGIRequest(scope, io.BytesIO())


@pytest.fixture
def handler():
    urls.threads.clear()
    urls.connections_used.clear()
    urls.second_started.clear()
    with override_settings(ROOT_URLCONF=URLCONF):
        yield ThreadedApiASGIHandler()


def answer(handler: ThreadedApiASGIHandler, *paths: str) -> list[HttpResponseBase]:
    async def all_at_once() -> list[HttpResponseBase]:
        return list(await asyncio.gather(*(handler.get_response_async(asgi_request(p)) for p in paths)))

    return async_to_sync(all_at_once)()


def test_two_api_requests_run_at_once_under_asgi(handler):
    responses = answer(handler, "/api/first", "/api/second")

    assert [response.status_code for response in responses] == [200, 200]
    assert urls.threads["/api/first"] != urls.threads["/api/second"]
    assert all(name.startswith("api") for name in urls.threads.values())


def test_async_api_views_and_pages_are_not_sent_to_the_api_threads(handler):
    answer(handler, "/api/waits", "/page")

    assert not urls.threads["/api/waits"].startswith("api")
    assert not urls.threads["/page"].startswith("api")


def test_a_threaded_api_request_passes_every_middleware(handler):
    # The input guard refuses a NUL, and the security middleware's headers are set, as on any
    # request Django answers itself.
    refused = async_to_sync(handler.get_response_async)(asgi_request("/api/second", b"agent=%00"))
    assert refused.status_code == 400
    assert "/api/second" not in urls.threads  # the view never ran

    passed = async_to_sync(handler.get_response_async)(asgi_request("/api/second"))
    assert urls.threads["/api/second"].startswith("api")
    assert passed.status_code == 200
    assert passed["X-Content-Type-Options"] == "nosniff"
    assert passed["X-Frame-Options"] == "DENY"


@pytest.mark.django_db(transaction=True)
def test_the_threads_connection_goes_back_to_the_pool(handler):
    answer(handler, "/api/query")

    assert urls.threads["/api/query"].startswith("api")
    assert len(urls.connections_used) == 1
    assert urls.connections_used[0] is not connections["default"]  # the pool thread's own
    assert urls.connections_used[0].connection is None  # closed: with a pool, returned to it


@pytest.mark.django_db
def test_under_wsgi_the_view_sees_the_callers_transaction():
    urls.threads.clear()
    with override_settings(ROOT_URLCONF=URLCONF):
        response = Client().get("/api/query")

    assert response.status_code == 200
    assert urls.threads["/api/query"] == threading.current_thread().name
    assert urls.connections_used[-1] is connections["default"]  # the test's, in its transaction


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
