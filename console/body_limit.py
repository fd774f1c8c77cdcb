"""Every HTTP request body bounded before any of it is stored, outermost in the ASGI app.

Django's ASGIHandler copies a whole body into a temporary file before middleware, auth or view
run, and uvicorn faces clients directly: without this, 64 MiB sent without a token were read in
full and only then answered 401. So a body is measured here, as it arrives:

- a declared Content-Length over the path's limit is refused at once, nothing read;
- a body without one (chunked) is counted message by message and refused as soon as it passes
  the limit; the app below is then told the client left (`http.disconnect`), which Django's
  handler and the gate's fast path both take as "answer nothing".

A declared Content-Length within the limit needs no counting: the server frames the body by it
(uvicorn's parsers read exactly that many bytes and refuse a request that also says
Transfer-Encoding), so such a request reaches the app untouched, with no extra await per message.

The refusal is the API's 413 (`payload_too_large`, core/http_errors.py) with `Connection: close`,
so the server drops the connection instead of reading the rest of the body to reach the next
request. The apps below read a whole body before they answer, so nothing has been sent by then.
WebSocket and lifespan scopes pass through untouched.
"""

from collections.abc import Mapping

from django.conf import settings

from console.asgi_types import ASGIApp, Message, Receive, Scope, Send
from core.http_errors import error_response

DISCONNECT: Message = {"type": "http.disconnect"}


class BodyLimit:
    """ASGI: `app` behind a bound on each HTTP body, DATA_UPLOAD_MAX_MEMORY_SIZE unless
    `limit_settings` names another setting for the path (a path as Django sees it)."""

    def __init__(self, app: ASGIApp, *, limit_settings: Mapping[str, str]) -> None:
        self.app = app
        self.limit_settings = limit_settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        declared = _declared_length(scope)
        if limit is None or (declared is not None and declared <= limit):
            await self.app(scope, receive, send)
        elif declared is not None:
            await _refuse(send, limit)
        else:
            await self.app(scope, CountedReceive(receive, send, limit), send)

    def _limit(self, scope: Scope) -> int | None:
        # Read per request, as Django reads its own settings (and tests override them).
        path = scope["path"].removeprefix(scope.get("root_path") or "")
        name = self.limit_settings.get(path, "DATA_UPLOAD_MAX_MEMORY_SIZE")
        limit: int | None = getattr(settings, name)
        return limit


class CountedReceive:
    """`receive` that answers 413 once more than `limit` bytes have come, and then tells the
    app the client left, reading nothing further."""

    def __init__(self, receive: Receive, send: Send, limit: int) -> None:
        self.receive = receive
        self.send = send
        self.limit = limit
        self.size = 0
        self.refused = False

    async def __call__(self) -> Message:
        if self.refused:
            return DISCONNECT
        message = await self.receive()
        self.size += len(message.get("body", b""))
        if self.size > self.limit:
            self.refused = True
            await _refuse(self.send, self.limit)
            return DISCONNECT
        return message


def _declared_length(scope: Scope) -> int | None:
    """The body's length as the server frames it: one Content-Length, no Transfer-Encoding.
    Anything else (chunked, repeated or malformed lengths) is counted as it arrives instead."""
    lengths = []
    for name, value in scope["headers"]:
        if name == b"transfer-encoding":
            return None
        if name == b"content-length":
            lengths.append(value)
    if len(lengths) != 1 or not lengths[0].isdigit():
        return None
    return int(lengths[0])


async def _refuse(send: Send, limit: int) -> None:
    response = error_response(413, "payload_too_large", f"the body is larger than {limit} bytes")
    headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in response.items()]
    headers += [(b"content-length", str(len(response.content)).encode()), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": response.content})
