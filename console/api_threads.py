"""API requests under ASGI run whole, middleware and view, on a pool of threads.

Django under ASGI runs every sync piece of a request through asgiref's
sync_to_async(thread_sensitive=True), on the one thread a process shares: each sync view, and
each `process_request` / `process_view` / `process_response` of every MiddlewareMixin, about
fifteen hops a request between the event loop and that thread. One uvicorn process would answer
one API request at a time, and the hops themselves cost more CPU than routing the request
(bench/gate_cpu.py: an unknown API path took ~7 ms of CPU a request, under load).

So the web server's handler (ThreadedApiASGIHandler, console/asgi.py) hands a request whose view
is sync, under /api/, in one hop to a thread of the API's pool, which runs Django's sync handler:
the same MIDDLEWARE, in the same order, as any other request (the input guard, security headers,
host checks all hold), then the view. The thread hands its connection back to the process's
pool (DATABASES' psycopg pool) before it takes the next request: Django's own end-of-request
close runs on the shared thread and would never see it. An async view (the gate API's
long-poll) stays on the event loop, so a waiting caller holds no thread.

Under the test client's WSGI handler every request stays on the caller's thread, where a test's
transaction and its connection are.
"""

from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.base import BaseHandler
from django.db import connections
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import Resolver404, get_resolver

API_PREFIX = "/api/"

# One pool per process, created on first use (settings are read by then, and a process that
# answers no API request starts no threads).
_executor: ThreadPoolExecutor | None = None


def api_executor() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=settings.API_THREADS, thread_name_prefix="api")
    return _executor


def runs_on_api_threads(request: HttpRequest) -> bool:
    """An API request whose view is sync: the whole request goes to the API's threads."""
    if not request.path_info.startswith(API_PREFIX):
        return False
    try:
        match = get_resolver().resolve(request.path_info)
    except Resolver404:
        return False
    return not iscoroutinefunction(match.func)


class ThreadedApiASGIHandler(ASGIHandler):
    """Django's ASGI handler, with sync API requests answered on the API's threads."""

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=is_async)
        self._sync_handler = BaseHandler()
        self._sync_handler.load_middleware(is_async=False)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        if not runs_on_api_threads(request):
            return await super().get_response_async(request)
        threaded = sync_to_async(api_thread_answer, thread_sensitive=False, executor=api_executor())
        return await threaded(self._sync_handler, request)


def api_thread_answer(handler: BaseHandler, request: HttpRequest) -> HttpResponseBase:
    """`handler`'s answer to `request`, on an API thread that then hands its connections back."""
    try:
        return handler.get_response(request)
    finally:
        for connection in connections.all(initialized_only=True):
            connection.close()  # with a pool: back to it, not closed
