"""One HTTP exchange bounded in size and, as a whole, in time: what a hostile server may cost us.

httpx times each phase on its own (connect, every write, every read), so a server that trickles
its headers or its body a few bytes a read never times out, and `.content` keeps all it sends.
`bounded_exchange` gives the whole exchange one deadline and reads the body up to a cap.

The deadline reaches the socket through DeadlineBackend: every connect, write and read it makes
waits at most the time left. Only a transport built on it (DeadlineTransport, or a backend that
wraps one) bounds the headers; the body is bounded by any transport, between its chunks.
"""

import ssl
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

# The running exchange's deadline (time.monotonic()), per thread: a pooled connection serves
# whichever exchange holds it, so its streams read the deadline at each operation.
_deadline: ContextVar[float | None] = ContextVar("bounded_http_deadline", default=None)


@dataclass(frozen=True)
class BoundedAnswer:
    response: httpx.Response
    body: bytes
    complete: bool  # False: the server sent more than the cap, and `body` is its first part


def bounded_exchange(
    client: httpx.Client, method: str, url: str, *, timeout_s: float, max_bytes: int, **request: Any
) -> BoundedAnswer:
    """Send one request and read its answer, all within `timeout_s`, keeping at most `max_bytes`
    of the body (the rest is never read: the connection is closed instead).

    `request`: httpx's request arguments (content, json, params, headers). Raises httpx.HTTPError
    as httpx does; a deadline passed at any phase is an httpx.TimeoutException.
    """
    deadline = time.monotonic() + timeout_s
    with (
        _deadline_set(deadline),
        client.stream(method, url, timeout=httpx.Timeout(timeout_s), **request) as response,
    ):
        body, complete = _read_capped(response.iter_bytes(), max_bytes=max_bytes, deadline=deadline)
    return BoundedAnswer(response=response, body=body, complete=complete)


def _read_capped(chunks: Iterator[bytes], *, max_bytes: int, deadline: float) -> tuple[bytes, bool]:
    kept = bytearray()
    for chunk in chunks:
        # Also for a transport without DeadlineBackend, whose every read may take a full timeout.
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout("the answer came slower than the exchange's deadline")
        kept += chunk
        if len(kept) > max_bytes:
            return bytes(kept[:max_bytes]), False
    return bytes(kept), True


@contextmanager
def _deadline_set(deadline: float) -> Iterator[None]:
    token = _deadline.set(deadline)
    try:
        yield
    finally:
        _deadline.reset(token)


def _time_left(timeout: float | None, expired: type[httpcore.TimeoutException]) -> float | None:
    """`timeout`, cut to what is left of the running exchange's deadline (if any)."""
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        # A zero timeout would make the socket non-blocking (an error, not a timeout).
        raise expired("the exchange's deadline has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _time_left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _time_left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        timeout = _time_left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's sync backend, each socket operation waiting at most the exchange's time left."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _time_left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_tcp(host, port, timeout, local_address, socket_options))

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _time_left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class DeadlineTransport(httpx.HTTPTransport):
    """httpx's transport over a pool whose connections obey `bounded_exchange`'s deadline.

    HTTPTransport takes no network backend, so its one attribute, the pool, is made here.
    `backend`: one that connects through a DeadlineBackend itself (the egress guard's).
    `proxy`: an HTTP(S) proxy to send through (core/proxied_http.py); its connection and the
    tunnel's TLS keep the same deadline. Not with the egress guard's backend: the guard checks
    the address it connects to, which would be the proxy's.
    """

    def __init__(
        self,
        *,
        limits: httpx.Limits,
        backend: httpcore.NetworkBackend | None = None,
        proxy: httpx.Proxy | None = None,
    ) -> None:
        pool_options: dict[str, Any] = {
            "ssl_context": httpx.create_ssl_context(),
            "max_connections": limits.max_connections,
            "max_keepalive_connections": limits.max_keepalive_connections,
            "keepalive_expiry": limits.keepalive_expiry,
            "network_backend": backend or DeadlineBackend(),
        }
        if proxy is None:
            self._pool = httpcore.ConnectionPool(**pool_options)
            return
        if backend is not None:
            raise ValueError("a proxy would connect past the backend's checks")
        if proxy.url.scheme not in ("http", "https"):
            # httpx would need socksio (not installed) for socks5: it could not go out before either.
            raise httpx.ProxyError(f"unsupported proxy scheme {proxy.url.scheme!r}")
        self._pool = httpcore.HTTPProxy(
            proxy_url=httpcore.URL(
                scheme=proxy.url.raw_scheme,
                host=proxy.url.raw_host,
                port=proxy.url.port,
                target=proxy.url.raw_path,
            ),
            proxy_auth=proxy.raw_auth,
            proxy_headers=proxy.headers.raw,
            proxy_ssl_context=proxy.ssl_context,
            **pool_options,
        )
