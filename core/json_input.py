"""Strict JSON from clients: the one parser behind the REST API and the console's endpoints.

A body is bounded (size, nesting depth) and must hold only values PostgreSQL can store:
NaN, Infinity, NUL and unpaired surrogates are refused here, as a 4xx naming the field,
because jsonb and text columns would otherwise refuse them later with a 500.
"""

import json
import math
import re
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.forms.fields import InvalidJSONInput, JSONString
from django.http import HttpRequest

# Deep enough for any real JSON Schema; bounds the recursion of everything that walks a body.
MAX_JSON_DEPTH = 64
# PostgreSQL text and jsonb reject NUL, and UTF-8 cannot encode a lone surrogate ("\ud800").
UNSTORABLE_CHARACTERS = re.compile("[\x00\ud800-\udfff]")
JSON_CONTENT_TYPE = re.compile(r"application/([\w.+-]+\+)?json")


class RequestRejected(Exception):
    """A request refused before it is parsed into a schema or a form."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field


def json_request_body(request: HttpRequest) -> Any:
    """The request's JSON body, parsed strictly; raises RequestRejected (413, 415, 400, 422)."""
    if not JSON_CONTENT_TYPE.fullmatch(request.content_type or ""):
        raise RequestRejected(415, "unsupported_media_type", "send the body as application/json")
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    try:
        raw = request.body
    except RequestDataTooBig as exc:
        raise RequestRejected(413, "payload_too_large", f"the body is larger than {limit} bytes") from exc
    # Django checks only the declared Content-Length; a body without one is measured here.
    if limit is not None and len(raw) > limit:
        raise RequestRejected(413, "payload_too_large", f"the body is larger than {limit} bytes")
    return json_parse_strict(raw)


def json_request_object(request: HttpRequest) -> dict[str, Any]:
    """The request's JSON body, which must be an object; raises RequestRejected otherwise."""
    body = json_request_body(request)
    if not isinstance(body, dict):
        raise RequestRejected(400, "invalid", "send a JSON object")
    return body


def json_parse_strict(raw: bytes | str) -> Any:
    """`raw` as JSON, refusing what json.loads allows but PostgreSQL cannot store."""
    try:
        data = json.loads(raw, parse_constant=_reject_constant, parse_float=_finite_float)
    except (ValueError, RecursionError) as exc:  # JSON, UTF-8 and int-size errors are ValueErrors
        raise RequestRejected(400, "malformed_json", f"the body is not valid JSON: {exc}") from exc
    json_check_storable(data)
    return data


def json_check_storable(data: Any) -> None:
    """Refuse nesting deeper than MAX_JSON_DEPTH and strings PostgreSQL cannot store."""
    # Iterative, so a deeply nested value cannot exhaust the stack before the depth check.
    pending: list[tuple[Any, int, str]] = [(data, 1, "")]
    while pending:
        node, depth, path = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise RequestRejected(400, "too_deep", f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(node, str) and UNSTORABLE_CHARACTERS.search(node):
            raise RequestRejected(
                422, "invalid_string", "strings must not contain NUL or unpaired surrogates", path or None
            )
        if isinstance(node, dict):
            for key, value in node.items():
                if UNSTORABLE_CHARACTERS.search(key):
                    message = "keys must not contain NUL or unpaired surrogates"
                    raise RequestRejected(422, "invalid_string", message, path or None)
                pending.append((value, depth + 1, f"{path}.{key}" if path else key))
        elif isinstance(node, list):
            pending.extend((value, depth + 1, f"{path}[{index}]") for index, value in enumerate(node))


class StrictJSONField(forms.JSONField):
    """A form's JSON field with the same rules as a JSON body."""

    def to_python(self, value: Any) -> Any:
        if self.disabled or not isinstance(value, str) or isinstance(value, JSONString) or not value:
            return super().to_python(value)
        try:
            parsed = json_parse_strict(value)
        except RequestRejected as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from exc
        return JSONString(parsed) if isinstance(parsed, str) else parsed

    def bound_data(self, data: Any, initial: Any) -> Any:
        # A refused value is shown back as typed: decoding it again for the page would
        # recurse too deep or put an unpaired surrogate into the HTML.
        if self.disabled or data is None:
            return super().bound_data(data, initial)
        try:
            return json_parse_strict(data)
        except RequestRejected:
            return InvalidJSONInput(data)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value
