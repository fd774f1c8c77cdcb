"""Sync API views under ASGI run on a pool of threads, not on the one thread Django shares.

Django under ASGI runs a sync view through asgiref's sync_to_async(thread_sensitive=True): every
sync view of a process runs on one shared thread, so one uvicorn process answered one API request
at a time and 100 concurrent callers queued behind each other. A request's view mostly waits on
PostgreSQL, so a few threads answer several at once. Each thread hands its connection back to
the process's pool (DATABASES' psycopg pool) when its request is done: Django's own
end-of-request close runs on the shared thread and would never see it.

Under the WSGI handler (Django's test client) a view stays on the caller's thread, where a
test's transaction and its connection are.
"""

from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import wraps
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import connections
from django.http import HttpRequest, HttpResponse

SyncView = Callable[..., HttpResponse]
AsyncView = Callable[..., Awaitable[HttpResponse]]

# One pool per process, created on first use (settings are read by then, and a process that
# answers no API request starts no threads).
_executor: ThreadPoolExecutor | None = None


def _api_executor() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=settings.API_THREADS, thread_name_prefix="api")
    return _executor


def off_shared_thread(view: SyncView) -> AsyncView:
    """`view` as an async view that, under ASGI, runs on the API's thread pool."""

    def run_and_release(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        finally:
            for connection in connections.all(initialized_only=True):
                connection.close()  # with a pool: back to it, not closed

    @wraps(view)
    async def threaded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if isinstance(request, ASGIRequest):
            pooled = sync_to_async(run_and_release, thread_sensitive=False, executor=_api_executor())
            return await pooled(request, *args, **kwargs)
        return await sync_to_async(view)(request, *args, **kwargs)

    return threaded
