"""The HTTP layer every provider shares: pooled connections, and error mapping.

A TLS handshake to a provider costs tens of milliseconds, more than the rest of a step,
so connections are kept alive in a pool per thread instead of a client per call.
"""

import json
import time
from typing import Any

import httpcore
import httpx

from agents.providers.base import ErrorKind, ProviderError
from core.http_headers import retry_after_seconds
from core.per_process import PerThread

_ERROR_TEXT_LIMIT = 500

# A keep-alive pool per worker thread (core/per_process.py). A thread sends one call at a time,
# so it keeps a connection per provider it calls. One pool shared by a worker's hundreds of
# threads cost ~10% of a step's CPU under the concurrency benchmark (py-spy): a lock, and a scan
# of all its connections on every request and every response's close; and its keep-alive cap
# closed and re-opened most connections on every call. httpcore, the transport under httpx,
# used directly: httpx's client layer (its request and response models, auth, redirects,
# cookies, hooks) cost ~0.4 ms of CPU a call; none of it is wanted here (no redirects are
# followed, the body is JSON both ways).
thread_pool = PerThread(
    lambda: httpcore.ConnectionPool(max_connections=8, max_keepalive_connections=8, keepalive_expiry=60)
)

# What httpx counts as a TransportError, as httpcore raises it.
_TRANSPORT_ERRORS = (
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.ProxyError,
    httpcore.UnsupportedProtocol,
)


def post_json(
    url: str, *, body: dict[str, Any], headers: dict[str, str], timeout_s: float
) -> tuple[dict[str, Any], float]:
    """POST a JSON body and return the decoded JSON answer and the latency in ms.

    Every failure becomes a ProviderError: 429 is rate_limit (with Retry-After), 408, 5xx,
    timeouts, broken connections and unreadable bodies are transient, other 4xx permanent.
    """
    sent: list[tuple[str, str]] = [("content-type", "application/json"), *headers.items()]
    started = time.perf_counter()
    try:
        raw = thread_pool().request(
            "POST",
            url,
            headers=sent,
            content=json.dumps(body).encode(),
            extensions={"timeout": dict.fromkeys(("connect", "read", "write", "pool"), timeout_s)},
        )
    except httpcore.TimeoutException as exc:
        raise ProviderError(f"timed out after {timeout_s:g}s: {url}", kind="transient") from exc
    except _TRANSPORT_ERRORS as exc:
        raise ProviderError(f"connection failed: {url}: {exc}", kind="transient") from exc
    latency_ms = (time.perf_counter() - started) * 1000
    if raw.status >= 400:
        # Rare: the error's text and Retry-After are read through httpx's response model.
        raise _status_error(httpx.Response(raw.status, headers=raw.headers, content=raw.content))
    try:
        answer = json.loads(raw.content)
    except ValueError as exc:
        # A 200 with a body that is not JSON comes from a gateway in between, not the model.
        raise ProviderError(
            f"unreadable response body from {url}", kind="transient", status=raw.status
        ) from exc
    if not isinstance(answer, dict):
        raise ProviderError(f"unexpected response body from {url}", kind="transient", status=raw.status)
    return answer, latency_ms


def _status_error(response: httpx.Response) -> ProviderError:
    status = response.status_code
    kind: ErrorKind
    if status == 429:
        kind = "rate_limit"
    elif status == 408 or status >= 500:
        kind = "transient"
    else:
        kind = "permanent"
    return ProviderError(
        f"HTTP {status}: {_error_text(response)}",
        kind=kind,
        status=status,
        retry_after_s=provider_retry_after(response.headers) if kind != "permanent" else None,
    )


def _error_text(response: httpx.Response) -> str:
    """The provider's own error message (both OpenAI and Anthropic use {"error": {"message"}})."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        error = None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return error["message"][:_ERROR_TEXT_LIMIT]
    if isinstance(error, str):
        return error[:_ERROR_TEXT_LIMIT]
    return response.text[:_ERROR_TEXT_LIMIT] or response.reason_phrase


def provider_retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait from `retry-after-ms` (OpenAI) or `Retry-After` (seconds or HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(float(millis) / 1000, 0.0)
        except ValueError:
            pass
    return retry_after_seconds(headers.get("retry-after"))
