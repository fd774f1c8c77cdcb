"""Refuse a request whose path, query string or form carries a character PostgreSQL rejects.

A NUL anywhere a view hands to a query (`?agent=%00`, `/alerts/rules/%00/`) used to reach
PostgreSQL and come back as a 500. Checking once here covers every console page, the admin
and the API alike; the answer is the API's error shape with the offending parameter named.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse
from django.utils.datastructures import MultiValueDict

from core.http_errors import error_response
from core.json_input import UNSTORABLE_CHARACTERS

FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class RefuseUnstorableInput:
    """Sync and async: under ASGI a sync-only middleware would hold Django's one shared thread
    for the whole request below it (async_to_sync inside sync_to_async), so one process would
    answer one request at a time whatever the views do."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if self.async_mode:
            return self._acall(request)
        return _refusal(request) or self.get_response(request)

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        return _refusal(request) or await self.get_response(request)


def _refusal(request: HttpRequest) -> HttpResponse | None:
    if UNSTORABLE_CHARACTERS.search(request.path):
        return error_response(400, "invalid_string", "the path must not contain NUL")
    sources: list[MultiValueDict] = [request.GET]
    if request.method == "POST" and request.content_type in FORM_CONTENT_TYPES:
        sources.append(request.POST)
    for source in sources:
        for key, values in source.lists():
            if any(UNSTORABLE_CHARACTERS.search(text) for text in (key, *values)):
                return error_response(400, "invalid_string", "parameters must not contain NUL", key)
    return None
