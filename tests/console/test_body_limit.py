"""Every HTTP body is bounded before anything reads it (console/body_limit.py): a declared length
over the path's limit is refused unread, a chunked body as soon as it passes the limit, with the
API's 413; the OTLP receiver has its own, larger limit; other scopes pass untouched."""

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from django.conf import settings

from console.asgi import application
from console.asgi_static import application as static_application
from console.asgi_types import Message, Receive, Scope, Send
from console.body_limit import BodyLimit
from tests.support.asgi import http_scope as asgi_scope

MiB = 1 << 20


class Sent:
    """What an app answered: its status, headers and body."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def __call__(self, message: Message) -> None:
        self.messages.append(message)

    @property
    def status(self) -> int:
        [start] = [m for m in self.messages if m["type"] == "http.response.start"]
        return int(start["status"])

    @property
    def headers(self) -> dict[bytes, bytes]:
        [start] = [m for m in self.messages if m["type"] == "http.response.start"]
        return dict(start["headers"])

    @property
    def json(self) -> Any:
        return json.loads(
            b"".join(m.get("body", b"") for m in self.messages if m["type"] == "http.response.body")
        )


class EndlessBody:
    """A client that sends `chunks` chunks of 1 MiB and then waits forever: what the server read."""

    def __init__(self, chunks: int) -> None:
        self.chunks = chunks
        self.read = 0

    async def __call__(self) -> Message:
        if self.read < self.chunks:
            self.read += 1
            return {"type": "http.request", "body": b"z" * MiB, "more_body": self.read < self.chunks}
        await asyncio.sleep(3600)  # a client that never finishes; the test times out here
        raise AssertionError("unreachable")


def http_scope(path: str, *, length: int | None = None, method: str = "POST") -> Scope:
    headers = [(b"host", b"localhost"), (b"content-type", b"application/json")]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    return asgi_scope(path, headers=headers, method=method)


def run(app: Any, scope: Scope, receive: Receive) -> Sent:
    sent = Sent()
    asyncio.run(asyncio.wait_for(app(scope, receive, sent), timeout=30))
    return sent


def limit_of(path: str) -> int:
    """The limit a path's body is held to: the OTLP receiver's own, else Django's."""
    return settings.OTLP_MAX_BODY_BYTES if path == "/v1/traces" else settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def assert_too_large(sent: Sent, limit: int) -> None:
    assert sent.status == 413
    assert sent.json == {
        "error": {"code": "payload_too_large", "message": f"the body is larger than {limit} bytes"}
    }
    assert sent.headers[b"connection"] == b"close"  # the server reads no more of it
    assert [m["type"] for m in sent.messages] == ["http.response.start", "http.response.body"]


@pytest.mark.parametrize("path", ["/v1/traces", "/api/v1/actions", "/api/v1/budget/reserve", "/static/x.css"])
@pytest.mark.parametrize("app", [application, static_application], ids=["asgi", "asgi_static"])
def test_an_endless_body_without_a_token_is_refused_once_past_the_limit(app, path):
    limit = limit_of(path)
    client = EndlessBody(chunks=64)

    sent = run(app, http_scope(path), client)

    assert_too_large(sent, limit)
    assert client.read == limit // MiB + 1  # not 64 MiB: the first chunk past the limit, no more


@pytest.mark.parametrize("path", ["/v1/traces", "/api/v1/actions", "/api/v1/budget/reserve"])
def test_a_declared_length_over_the_limit_is_refused_unread(path):
    client = EndlessBody(chunks=64)

    sent = run(application, http_scope(path, length=64 * MiB), client)

    assert_too_large(sent, limit_of(path))
    assert client.read == 0


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_an_otlp_export_between_the_two_limits_reaches_the_receiver(declared):
    size = 3 * MiB
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE < size <= settings.OTLP_MAX_BODY_BYTES
    client = EndlessBody(chunks=3)

    sent = run(application, http_scope("/v1/traces", length=size if declared else None), client)

    assert sent.status == 401  # the receiver's own answer: no token
    assert client.read == 3


class Reader:
    """An app that reads the whole body and answers 200 with its length."""

    def __init__(self) -> None:
        self.receives: list[Receive] = []
        self.scopes: list[Scope] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scopes.append(scope)
        self.receives.append(receive)
        if scope["type"] != "http":
            return
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            size += len(message.get("body", b""))
            if not message.get("more_body", False):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(size).encode()})


def pieces(*sizes: int) -> Receive:
    messages = [
        {"type": "http.request", "body": b"x" * n, "more_body": i < len(sizes) - 1}
        for i, n in enumerate(sizes)
    ]

    async def receive() -> Message:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    return receive


@pytest.mark.parametrize(("sizes", "status"), [((400, 600), 200), ((400, 601), 413), ((1001,), 413)])
def test_a_chunked_body_is_refused_one_byte_past_the_limit(settings, sizes, status):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    inner = Reader()

    sent = run(BodyLimit(inner, limit_settings={}), http_scope("/any"), pieces(*sizes))

    assert sent.status == status
    if status == 413:
        assert_too_large(sent, 1000)  # the app below was told the client left and answered nothing


def test_a_declared_length_within_the_limit_is_not_counted(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    inner = Reader()
    receive = pieces(1000)

    sent = run(BodyLimit(inner, limit_settings={}), http_scope("/any", length=1000), receive)

    assert sent.status == 200
    assert inner.receives == [receive]  # the server's own receive: no await added per message


def test_no_limit_set_reads_any_body(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = None
    sent = run(BodyLimit(Reader(), limit_settings={}), http_scope("/any", length=5000), pieces(5000))
    assert sent.status == 200


@pytest.mark.parametrize("kind", ["websocket", "lifespan"])
def test_other_scopes_pass_through_untouched(kind):
    inner = Reader()
    scope = {"type": kind, "path": "/ws/queue/", "headers": []}
    receive = pieces(5 * MiB)

    run(BodyLimit(inner, limit_settings={}), scope, receive)

    assert inner.scopes == [scope]
    assert inner.receives == [receive]


@pytest.fixture(params=["httptools", "h11"])
def server(request, settings) -> Iterator[tuple[str, int]]:
    """uvicorn serving a body-limited app that reads whatever it is given (limit 1000 bytes)."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        BodyLimit(Reader(), limit_settings={}), http=request.param, lifespan="off", log_level="warning"
    )
    served = uvicorn.Server(config)
    thread = threading.Thread(target=served.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not served.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield sock.getsockname()
    served.should_exit = True
    thread.join(10)


def answer_and_close(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    sock.settimeout(10)
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def test_uvicorn_answers_413_and_closes_while_a_chunked_body_is_still_coming(server):
    with socket.create_connection(server) as sock:
        head = b"POST /any HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        sock.sendall(head + b"800\r\n" + b"x" * 0x800 + b"\r\n")  # 2 KiB of a body that never ends

        received = answer_and_close(sock)

    assert received.startswith(b"HTTP/1.1 413 ")
    assert b"payload_too_large" in received


def test_uvicorn_answers_413_to_a_declared_length_before_the_body_is_sent(server):
    with socket.create_connection(server) as sock:
        sock.sendall(
            b"POST /any HTTP/1.1\r\nHost: x\r\nContent-Length: 67108864\r\nExpect: 100-continue\r\n\r\n"
        )

        received = answer_and_close(sock)

    assert received.startswith(b"HTTP/1.1 413 ")  # no "100 Continue": the client need not send it
