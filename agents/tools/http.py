"""HTTP tools: one request per call, its outcome classified into a ToolResult.

Nothing is retried here: whether and when to retry (backoff, the retry budget, the tool's
circuit breaker) is the runtime's decision, made from `error_type` and `retry_safe`.
"""

import json
from typing import Any

import httpx

from agents.models import Tool
from agents.tools.egress import EgressRefused
from agents.tools.egress_transport import EgressGuardedTransport
from agents.tools.result import ToolResult
from core.bounded_http import bounded_exchange
from core.http_headers import retry_after_seconds
from core.per_process import PerProcess

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# RFC 9110 section 9.2.2: repeating these has the same effect as sending them once.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# A response is read into memory and handed to the model; anything larger is a tool bug.
MAX_RESPONSE_BYTES = 1_000_000
# How much of an error response the model is shown.
MAX_ERROR_CHARS = 500


def http_tool_repeatable(tool: Tool) -> bool:
    """Whether sending a call to `tool` twice has the effect of sending it once: an idempotent
    method, or a tool that deduplicates by Idempotency-Key (its admin says so). Every call
    carries a key, but only such a tool is ever sent one twice."""
    return tool.method.upper() in IDEMPOTENT_METHODS or tool.honours_idempotency_key


def http_tool_request(*, tool: Tool, arguments: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
    """What a call sends, as reviewers are shown it when its outcome is unknown."""
    return {
        "method": tool.method.upper(),
        "url": tool.url,
        "arguments": arguments,
        "idempotency_key": idempotency_key,
    }


def http_tool_call(*, tool: Tool, arguments: dict[str, Any], idempotency_key: str) -> ToolResult:
    """Send one request to `tool.url` and classify the answer. Never raises for the remote's faults."""
    method = tool.method.upper()
    retry_safe = http_tool_repeatable(tool)
    payload: dict[str, Any] = (
        {"json": arguments} if method in BODY_METHODS else {"params": _query_params(arguments)}
    )
    # The timeout is the whole call's, so a server trickling bytes cannot hold a worker forever.
    try:
        answer = bounded_exchange(
            _client(),
            method,
            tool.url,
            timeout_s=tool.timeout_s,
            max_bytes=MAX_RESPONSE_BYTES,
            headers={"Idempotency-Key": idempotency_key},
            **payload,
        )
    except EgressRefused as exc:
        return ToolResult.error("permanent", f"{tool.name} cannot be called: {exc}")
    except httpx.TimeoutException:
        return ToolResult.error(
            "transient", f"{tool.name} did not answer within {tool.timeout_s:g}s", retry_safe=retry_safe
        )
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        return ToolResult.error("permanent", f"{tool.name} has an unusable URL ({exc}); an admin must fix it")
    except httpx.TransportError as exc:
        return ToolResult.error(
            "transient", f"could not reach {tool.name}: {type(exc).__name__}: {exc}", retry_safe=retry_safe
        )
    except httpx.RequestError as exc:
        # DecodingError, TooManyRedirects: the tool answered something unusable.
        return ToolResult.error("permanent", f"{tool.name} sent an unusable response: {exc}")
    return _classify(tool, answer.response, answer.body, complete=answer.complete, retry_safe=retry_safe)


def _classify(
    tool: Tool, response: httpx.Response, body: bytes, *, complete: bool, retry_safe: bool
) -> ToolResult:
    status = response.status_code
    if 200 <= status < 300:
        if not complete:
            return ToolResult.error(
                "permanent", f"{tool.name} answered more than {MAX_RESPONSE_BYTES} bytes; ask for less"
            )
        return ToolResult.success(_body_data(response, body))
    detail = _error_detail(response, body)
    message = f"{tool.name} answered HTTP {status}" + (f": {detail}" if detail else "")
    retry_after_s = retry_after_seconds(response.headers.get("Retry-After"))
    if status == 429:
        # Refused before it ran, by the usual meaning; still sent again only to a tool that is
        # safe to repeat, since a tool that ignores keys may also misreport what it did.
        return ToolResult.error("rate_limit", message, retry_safe=retry_safe, retry_after_s=retry_after_s)
    # 408 Request Timeout is a timeout the server noticed first: as transient as ours.
    if status >= 500 or status == 408:
        return ToolResult.error("transient", message, retry_safe=retry_safe, retry_after_s=retry_after_s)
    if 300 <= status < 400:
        location = response.headers.get("Location", "")
        message += f" (redirect to {location[:MAX_ERROR_CHARS]}; the tool's URL needs updating)"
    return ToolResult.error("permanent", message)


def _body_data(response: httpx.Response, body: bytes) -> Any:
    if not body:
        return None
    text = body.decode(response.encoding or "utf-8", errors="replace")
    if "json" in response.headers.get("Content-Type", ""):
        try:
            return json.loads(text, parse_constant=_reject_constant)
        except ValueError:
            pass  # mislabelled: the text is still what the tool said
    return text


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are not JSON, and PostgreSQL's jsonb refuses them in the checkpoint.
    raise ValueError(f"{name} is not valid JSON")


def _error_detail(response: httpx.Response, body: bytes) -> str:
    data = _body_data(response, body)
    if isinstance(data, dict):
        for key in ("error", "message", "detail", "title"):
            value = data.get(key)
            if isinstance(value, dict):
                value = value.get("message")
            if isinstance(value, str) and value:
                data = value
                break
    text = data if isinstance(data, str) else json.dumps(data) if data is not None else ""
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS] + "…"


def _query_params(arguments: dict[str, Any]) -> dict[str, Any]:
    """Arguments as a query string: scalars and lists of scalars as is, anything nested as JSON."""
    params: dict[str, Any] = {}
    for key, value in arguments.items():
        if _is_scalar(value) or (isinstance(value, list) and all(_is_scalar(item) for item in value)):
            params[key] = value
        else:
            params[key] = json.dumps(value, separators=(",", ":"))
    return params


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


# This process's pooled client for tool calls (see console.per_process). Every connection is
# checked against the egress policy; a redirect is never followed, since its target would be
# a destination the admin did not register (it is reported to the model instead). Never through
# the environment's proxies (an explicit transport keeps httpx from mounting them): the guard
# checks the address it connects to, and a proxy would connect past it.
_client = PerProcess(
    lambda: httpx.Client(
        headers={"User-Agent": "tollgate-tools"},
        transport=EgressGuardedTransport(
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20)
        ),
        follow_redirects=False,
    )
)
