"""ASGI scopes for tests that call an ASGI app directly, without a server."""

from console.asgi_types import Scope


def http_scope(
    path: str, *, headers: list[tuple[bytes, bytes]], method: str = "POST", query: bytes = b""
) -> Scope:
    """An HTTP scope as uvicorn builds one for a request from 127.0.0.1 to localhost."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
