"""A URLconf for tests/console/test_api_threads.py: sync and async views under /api/ and a page
outside it, recording the thread each ran on."""

import threading

from django.db import connection, connections
from django.http import HttpRequest, HttpResponse
from django.urls import path

threads: dict[str, str] = {}
connections_used: list = []
second_started = threading.Event()


def first(request: HttpRequest) -> HttpResponse:
    # Waits until the second request has started: on one shared thread it would wait out its
    # timeout and answer 504.
    threads[request.path] = threading.current_thread().name
    return HttpResponse(status=200 if second_started.wait(timeout=20) else 504)


def second(request: HttpRequest) -> HttpResponse:
    threads[request.path] = threading.current_thread().name
    second_started.set()
    return HttpResponse(status=200)


def query(request: HttpRequest) -> HttpResponse:
    threads[request.path] = threading.current_thread().name
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    connections_used.append(connections["default"])
    return HttpResponse()


async def waits(request: HttpRequest) -> HttpResponse:
    threads[request.path] = threading.current_thread().name
    return HttpResponse()


def page(request: HttpRequest) -> HttpResponse:
    threads[request.path] = threading.current_thread().name
    return HttpResponse()


urlpatterns = [
    path("api/first", first),
    path("api/second", second),
    path("api/query", query),
    path("api/waits", waits),
    path("page", page),
]
