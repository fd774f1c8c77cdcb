"""The gate API's ask, `POST /api/v1/actions`, answered past Django's ASGI handler.

Issue 15 asks for 500 allow answers a second on 2 cores with PostgreSQL and the callers on the
same cores: about 2 ms of server CPU an answer. Under Django's ASGIHandler about a third of an
answer's CPU in a uvicorn process went to the ASGI machinery around the request rather than to
the request (py-spy, bench/README.md "gate_cpu"): a ThreadSensitiveContext with its own executor
per request, request_started and request_finished sent through sync_to_async, the URL resolved
twice (once to pick the API threads, once by Django), and a fresh pooled connection set up.

So this ASGI app sits in front of Django's (console/asgi.py) and takes exactly that route: a
POST to /api/v1/actions with no query string. It reads the body (bounded in front of it, by
console/body_limit.py), builds Django's own ASGIRequest and runs it on an API thread through
Django's sync handler: the same MIDDLEWARE in the same order (host check, input guard, security
headers, CSP, request logging of 4xx), then the same Ninja operation (token auth, strict JSON
parsing, the ActionIn schema, the view, the ActionOut answer, the same error handlers). Only the
URL lookup is skipped: the path is fixed, so its view is looked up once per process. Every
answer, each refusal included, is therefore the Django route's answer. Anything else, and a
request this path does not read (a path that is not UTF-8), goes to Django unchanged.
"""

import asyncio
import io
from functools import partial

from asgiref.sync import iscoroutinefunction
from django.core.exceptions import RequestDataTooBig
from django.core.handlers.asgi import ASGIHandler, ASGIRequest
from django.core.handlers.base import BaseHandler
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import ResolverMatch, get_resolver

from console.api_threads import api_executor, api_thread_answer
from console.asgi_types import Message, Receive, Scope, Send

ASK_PATH = "/api/v1/actions"


class PreResolvedHandler(BaseHandler):
    """Django's sync handler, MIDDLEWARE and all, for one route whose view is known already."""

    def __init__(self, match: ResolverMatch) -> None:
        super().__init__()
        self.match = match
        self.load_middleware(is_async=False)

    def resolve_request(self, request: HttpRequest) -> ResolverMatch:
        if hasattr(request, "urlconf"):  # a middleware chose another urlconf: resolve as Django does
            return super().resolve_request(request)
        request.resolver_match = self.match
        return self.match


class GateFastPath:
    """ASGI: the gate API's ask on an API thread, straight through Django's sync handler; the
    rest to `django_app`."""

    def __init__(self, django_app: ASGIHandler) -> None:
        self.django_app = django_app
        self._handler: PreResolvedHandler | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_ask(scope):
            await self.django_app(scope, receive, send)
            return
        # The body's size is bounded in front of this app (console/body_limit.py): past the
        # limit it answers 413 itself and hands this loop a disconnect.
        messages: list[Message] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the caller left, or sent too much: nothing to answer here
            messages.append(message)
            if not message.get("more_body", False):
                break
        body = b"".join(message.get("body", b"") for message in messages)
        try:
            request = ASGIRequest(scope, io.BytesIO(body))
        except (UnicodeDecodeError, RequestDataTooBig):
            await self.django_app(scope, _replay(messages, receive), send)
            return
        # run_in_executor rather than asgiref's sync_to_async: the view needs none of the
        # context it carries across, and the hop is a fixed cost of every answer.
        loop = asyncio.get_running_loop()
        response = await loop.run_in_executor(api_executor(), partial(self._answer, request))
        await self.django_app.send_response(response, send)

    def _answer(self, request: HttpRequest) -> HttpResponseBase:
        if self._handler is None:
            self._handler = PreResolvedHandler(_ask_route())
        response = api_thread_answer(self._handler, request)
        response._handler_class = type(self._handler)  # type: ignore[attr-defined]
        # As Django closes every response: request_finished, the request's files.
        response.close()
        return response


def _is_ask(scope: Scope) -> bool:
    return (
        scope["type"] == "http"
        and scope["method"] == "POST"
        and scope["path"] == ASK_PATH
        and not scope.get("query_string")
        and not scope.get("root_path")
    )


def _ask_route() -> ResolverMatch:
    match = get_resolver().resolve(ASK_PATH)
    if iscoroutinefunction(match.func):
        raise TypeError(f"{ASK_PATH}'s view is async; the fast path runs sync views only")
    return match


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """`receive` with the messages already read from it given back first."""
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
