"""The REST API (/api/v1/): token auth, JSON errors, OpenAPI document.

Every error is answered as {"error": {"code", "message", "field"?}} (DESIGN.md, "The REST
contract"), and nothing a client sends may produce a 5xx: bodies are parsed strictly here,
before any schema sees them, and every exception a request can raise has a handler below.
"""

import logging
import math
from collections.abc import Callable
from functools import partial, wraps
from typing import Any

from asgiref.sync import iscoroutinefunction
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import URLPattern, URLResolver, re_path
from django.utils.datastructures import MultiValueDict
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError
from ninja.openapi.schema import OpenAPISchema
from ninja.parser import Parser
from ninja.security import HttpBearer

from agents.api import agents, budget, memories, rollouts, sessions, tasks, tools
from approvals.api import actions as approvals_actions_api
from approvals.api import approvals as approvals_api
from approvals.api import policy as approvals_policy_api
from approvals.api import undo as approvals_undo_api
from console import health_api, tokens_api
from console.api_examples import openapi_with_examples
from console.tokens import api_token_authenticate
from core.errors import ServiceError
from core.http_errors import error_response, unauthorized_response
from core.json_input import UNSTORABLE_CHARACTERS, RequestRejected, json_request_body
from evals.api import routes as evals_api
from replays import api as replays_api
from tracing import api as tracing_api
from tracing.alerts import api as alerts_api

logger = logging.getLogger(__name__)

STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "throttled",
}


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        return api_token_authenticate(token)


class StrictJsonParser(Parser):
    """JSON bodies only, and only values PostgreSQL can store (core.json_input)."""

    def parse_body(self, request: HttpRequest) -> Any:
        return json_request_body(request)

    def parse_querydict(
        self, data: MultiValueDict, list_fields: list[str], request: HttpRequest
    ) -> dict[str, Any]:
        for key, values in data.lists():
            if any(UNSTORABLE_CHARACTERS.search(text) for text in (key, *values)):
                raise RequestRejected(400, "invalid_string", "query parameters must not contain NUL", key)
        return super().parse_querydict(data, list_fields, request)


class TollgateAPI(NinjaAPI):
    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        document = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        return openapi_with_examples(document)  # type: ignore[return-value]

    def _get_urls(self) -> list[URLPattern | URLResolver]:
        # Ninja answers a wrong method with a plain-text 405, its root URL with an HTML 404,
        # and leaves unknown paths to Django's HTML 404: all three get the JSON error shape.
        patterns = [_json_errors(pattern) for pattern in super()._get_urls()]
        return [*patterns, re_path(r"", _unknown_route, name="unknown-route")]


def _json_errors(pattern: URLPattern | URLResolver) -> URLPattern | URLResolver:
    if not isinstance(pattern, URLPattern):
        return pattern
    view = pattern.callback

    if iscoroutinefunction(view):
        # A path with an async operation (the gate API's long-poll) stays async under ASGI.
        @wraps(view)
        async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                response = await view(request, *args, **kwargs)
            except Http404:
                return _unknown_route(request)
            return _method_error(request, response)

        return URLPattern(pattern.pattern, async_wrapper, pattern.default_args, pattern.name)

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            return _unknown_route(request)
        return _method_error(request, response)

    return URLPattern(pattern.pattern, wrapper, pattern.default_args, pattern.name)


def _method_error(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    if isinstance(response, HttpResponseNotAllowed):
        rejected = error_response(
            405, "method_not_allowed", f"{request.method} is not allowed here; use {response['Allow']}"
        )
        rejected["Allow"] = response["Allow"]
        return rejected
    return response


@csrf_exempt
def _unknown_route(request: HttpRequest) -> HttpResponse:
    return error_response(404, "not_found", f"no such endpoint: {request.method} {request.path}")


api = TollgateAPI(
    title="Tollgate",
    version="1",
    description="Register tools and agents, submit tasks, read their results and traces.",
    urls_namespace="api",
    auth=TokenAuth(),
    parser=StrictJsonParser(),
)
api.add_router("/tools", tools.router)
api.add_router("/agents", agents.router)
api.add_router("/agents", memories.router)
api.add_router("/agents", rollouts.router)
api.add_router("/sessions", sessions.router)
api.add_router("/sessions", approvals_undo_api.router)
api.add_router("/tasks", tasks.router)
api.add_router("/tasks", tracing_api.router)
api.add_router("/policy", approvals_policy_api.router)
api.add_router("/approvals", approvals_api.router)
api.add_router("/alerts", alerts_api.router)
api.add_router("/tokens", tokens_api.router)
api.add_router("/actions", approvals_actions_api.router)
api.add_router("/budget", budget.router)
api.add_router("/tasks", replays_api.task_router)
api.add_router("/replays", replays_api.router)
api.add_router("/evals", evals_api.router)
api.add_router("/health", health_api.router)


def _on_rejected(request: HttpRequest, exc: RequestRejected) -> HttpResponse:
    return error_response(exc.status, exc.code, exc.message, exc.field)


def _on_service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    return error_response(exc.status, exc.code, exc.message, exc.field, exc.details)


def _on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # Ninja wraps whatever the parser raised in "Cannot parse request body"; say what it was.
    if isinstance(exc.__cause__, RequestRejected):
        return _on_rejected(request, exc.__cause__)
    if isinstance(exc, AuthenticationError):
        return unauthorized_response()
    response = error_response(exc.status_code, STATUS_CODES.get(exc.status_code, "error"), exc.message)
    if isinstance(exc, Throttled) and exc.wait is not None:
        response["Retry-After"] = str(math.ceil(exc.wait))
    return response


def _on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    first = exc.errors[0]
    loc = tuple(first.get("loc", ()))
    if loc[:1] == ("body",) and len(loc) <= 2:
        # The body as a whole is missing or not an object ("null", "[]", "42", nothing at all).
        return error_response(422, "invalid", "the body must be a JSON object")
    field = _field_name(loc)
    message = f"{field}: {first['msg']}" if field else first["msg"]
    return error_response(422, "invalid", message, field)


def _field_name(loc: tuple[Any, ...]) -> str | None:
    source, *path = loc or ("",)
    if source == "body":
        # Ninja nests the body under the view's argument name ("payload"); clients never see it.
        path = path[1:]
    return ".".join(str(part) for part in path) or None


def _on_status(status: int, request: HttpRequest, exc: Exception) -> HttpResponse:
    message = str(exc) or STATUS_CODES[status].replace("_", " ")
    return error_response(status, STATUS_CODES[status], message)


def _on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    # A bug, not the client's fault: logged with its traceback, answered in the same shape.
    logger.exception("unhandled error in %s %s", request.method, request.path, exc_info=exc)
    return error_response(500, "internal_error", "internal error; it has been logged")


HANDLERS: dict[type[Exception], Callable[..., HttpResponse]] = {
    RequestRejected: _on_rejected,
    ServiceError: _on_service_error,
    HttpError: _on_http_error,
    ValidationError: _on_validation_error,
    Http404: partial(_on_status, 404),
    PermissionDenied: partial(_on_status, 403),
    RequestDataTooBig: partial(_on_status, 413),
    SuspiciousOperation: partial(_on_status, 400),
    Exception: _on_unexpected,
}
for exc_class, handler in HANDLERS.items():
    api.add_exception_handler(exc_class, handler)
